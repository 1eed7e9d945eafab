# rss.gp - memory. Left and middle: peak resident set of one worker process,
# and of all worker processes together, vs worker count (experiment 1's
# runs at --work-ns 0, rss.csv rows of kind "workers"). Phases 1 and 2 are
# one process: their point is the whole run. Forked Python workers share
# pages with their router, so the peer's sum over-counts what the machine
# really spends. Right: bytes per machine against --ids (the memory sweep,
# rows of kind "ids": the slope of peak RSS between two sizes), solid for
# the main process (phases 1 and 2: the one process), dashed for the
# workers together.
# Variables: dir, series.
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/rss.csv"
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 1600,460 font ",10" noenhanced } else { set term svg size 1600,460 dynamic font ",10" noenhanced }
    set output dir."/rss.".png_or_svg(fmt)
    set multiplot layout 1,3 title "Memory: peak RSS (VmHWM)"
    set logscale x 2
    set xrange [0.8:20]
    set xtics (1,2,4,8,16)
    set xlabel "worker processes (--workers)"
    set yrange [0:*]
    set key outside right top font ",9"
    set title "one worker process"
    set ylabel "peak RSS per process (MiB)"
    plot for [i=1:words(series)] f using (strcol("kind") eq "workers" && strcol("series") eq word(series,i) ? column("workers") : NaN):(column("rss_kb_per_worker")/1024.0) \
         lw 2 lc rgb color(word(series,i)) title word(series,i)
    set title "all worker processes together (router not included)"
    set ylabel "sum of peak RSS (MiB)"
    plot for [i=1:words(series)] f using (strcol("kind") eq "workers" && strcol("series") eq word(series,i) ? column("workers") : NaN):(column("rss_kb_workers_sum")/1024.0) \
         lw 2 lc rgb color(word(series,i)) title word(series,i)
    set title "bytes per machine (solid: main process, dashed: workers)"
    set logscale x 10
    set xrange [*:*]
    set xtics auto
    set format x "%.0e"
    set xlabel "distinct ids (--ids, 3 messages each)"
    set ylabel "bytes per machine (RSS slope)"
    plot for [i=1:words(series)] f using (strcol("kind") eq "ids" && strcol("series") eq word(series,i) ? column("ids") : NaN):(column("bytes_per_machine_main")) \
         lw 2 lc rgb color(word(series,i)) title word(series,i), \
         for [i=1:words(series)] f using (strcol("kind") eq "ids" && strcol("series") eq word(series,i) ? column("ids") : NaN):(column("bytes_per_machine_workers")) \
         lw 2 dt 2 lc rgb color(word(series,i)) notitle
    unset format x
    unset multiplot
    unset output
}
