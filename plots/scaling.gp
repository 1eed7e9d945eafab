# scaling.gp - experiment 1: throughput vs worker processes, one panel per
# --work-ns. Phases with workers (3, 4, 5, the Python peer) are lines with
# min-max error bars; phases 1 and 2 (one process) are dashed horizontal
# reference lines; the dotted vertical line marks cpu_count.
# Variables: dir, series (worker series), refs (one-process series), works, cpu.
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/exp1_scaling.csv"
fr = dir."/exp1_scaling_ref.csv"
n = words(works)
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 520*n,460 font ",10" noenhanced } else { set term svg size 520*n,460 dynamic font ",10" noenhanced }
    set output dir."/scaling.".png_or_svg(fmt)
    set multiplot layout 1,n title "Experiment 1: throughput vs worker processes (".cpu." CPUs)"
    set logscale x 2
    set logscale y 10
    set xrange [0.8:(cpu+0 > 16 ? 1.25*(cpu+0) : 20)]
    set xtics (1,2,4,8,16)
    set xlabel "worker processes (--workers)"
    set ylabel "throughput (messages/s)"
    set format y "%.0s%c"
    set offsets 0, 0, graph 0.08, graph 0.08
    set key inside bottom left box opaque font ",8"
    do for [k=1:n] {
        w = word(works, k) + 0
        set title sprintf("--work-ns %d", w)
        set arrow 1 from cpu+0, graph 0 to cpu+0, graph 1 nohead dt 3 lw 1.5 lc rgb "#555555"
        set label 1 sprintf("cpu_count = %s", cpu) at cpu+0, graph 0.97 right offset -0.5,0 font ",8" tc rgb "#555555"
        plot for [i=1:words(series)] f using \
                 (strcol("series") eq word(series,i) && column("work_ns") == w ? column("workers") : NaN):\
                 "msgs_per_s_median":"msgs_per_s_min":"msgs_per_s_max" \
                 with yerrorlines lw 2 lc rgb color(word(series,i)) title word(series,i), \
             for [i=1:words(refs)] fr using \
                 (strcol("series") eq word(refs,i) && column("work_ns") == w ? column("workers") : NaN):"msgs_per_s_median" \
                 with lines dt 2 lw 2 lc rgb color(word(refs,i)) title word(refs,i)." (one process)"
    }
    unset multiplot
    unset output
}
