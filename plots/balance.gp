# balance.gp - experiment 4: how evenly hashed routing spreads messages over
# workers, uniform keys vs Zipf s = 0.8, 1.0, 1.2. Left: the busiest
# worker's message count over the mean (1 = perfect); right: the same for
# busy time (what a worker actually spent handling messages).
# Variables: dir, series, workers.
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/exp4_balance.csv"
dix(d) = (d eq "uniform") ? 0 : (d eq "zipf:0.8") ? 1 : (d eq "zipf:1.0") ? 2 : (d eq "zipf:1.2") ? 3 : NaN
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 1300,460 font ",10" noenhanced } else { set term svg size 1300,460 dynamic font ",10" noenhanced }
    set output dir."/balance.".png_or_svg(fmt)
    set multiplot layout 1,2 title sprintf("Experiment 4: load balance over %s hashed workers, --ids 10000, --work-ns 1000", workers)
    set xrange [-0.3:3.3]
    set xtics ("uniform" 0, "Zipf 0.8" 1, "Zipf 1.0" 2, "Zipf 1.2" 3)
    set xlabel "key distribution (--dist)"
    set yrange [0.9:*]
    set key outside right top font ",9"
    set title "messages: busiest worker / mean"
    set ylabel "max / mean (1 = even)"
    plot for [i=1:words(series)] f using (strcol("series") eq word(series,i) ? dix(strcol("dist")) : NaN):"msgs_max_over_mean" \
         lw 2 lc rgb color(word(series,i)) title word(series,i), 1 with lines dt 3 lc rgb "#555555" title "perfect balance"
    set title "busy time: busiest worker / mean (min-max over repetitions)"
    plot for [i=1:words(series)] f using (strcol("series") eq word(series,i) ? dix(strcol("dist")) : NaN):\
         "busy_max_over_mean":"busy_max_over_mean_min":"busy_max_over_mean_max" \
         with yerrorlines lw 2 lc rgb color(word(series,i)) title word(series,i), 1 with lines dt 3 lc rgb "#555555" title "perfect balance"
    unset multiplot
    unset output
}
