# rss.gp - memory: peak resident set of one worker process, and of all the
# run's processes together, vs worker count (the runs of experiment 1 at
# --work-ns 0). Phases 1 and 2 are one process: their point is the whole run.
# The sum counts worker processes only (the C phases report their router's
# RSS only inside rss_kb_max); forked Python workers share pages with their
# router, so the peer's sum over-counts what the machine really spends.
# Variables: dir, series.
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/rss.csv"
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 1250,460 font ",10" noenhanced } else { set term svg size 1250,460 dynamic font ",10" noenhanced }
    set output dir."/rss.".png_or_svg(fmt)
    set multiplot layout 1,2 title "Memory: peak RSS (ru_maxrss / VmHWM)"
    set logscale x 2
    set xrange [0.8:20]
    set xtics (1,2,4,8,16)
    set xlabel "worker processes (--workers)"
    set yrange [0:*]
    set key outside right top font ",9"
    set title "one worker process"
    set ylabel "peak RSS per process (MiB)"
    plot for [i=1:words(series)] f using (strcol("series") eq word(series,i) ? column("workers") : NaN):(column("rss_kb_per_worker")/1024.0) \
         lw 2 lc rgb color(word(series,i)) title word(series,i)
    set title "all worker processes together (router not included)"
    set ylabel "sum of peak RSS (MiB)"
    plot for [i=1:words(series)] f using (strcol("series") eq word(series,i) ? column("workers") : NaN):(column("rss_kb_workers_sum")/1024.0) \
         lw 2 lc rgb color(word(series,i)) title word(series,i)
    unset multiplot
    unset output
}
