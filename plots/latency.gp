# latency.gp - experiment 5: query latency p50, p99 and p99.9 vs offered
# load (percent of each program's own measured maximum), measured from each
# query's intended send time. Horizontal lines: a bare pipe ping-pong round
# trip between two processes, measured in the same run (pin none, same CPU,
# spread over CPUs): the floor under any cross-process query.
# Variables: dir, series.
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/exp5_latency.csv"
ff = dir."/exp5_floor.csv"
pins = "none same spread"
pincolor(p) = (p eq "none") ? 0x555555 : (p eq "same") ? 0x17becf : 0xbcbd22
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 1500,600 font ",10" noenhanced } else { set term svg size 1500,600 dynamic font ",10" noenhanced }
    set output dir."/latency.".png_or_svg(fmt)
    set multiplot layout 1,3 title "Experiment 5: query latency vs offered load (from intended send time)"
    set logscale y 10
    set format y "%.0s%c"
    set xrange [-5:105]
    set xtics 0,25,100
    set xlabel "offered load (% of the program's max throughput; 0 = idle)"
    set ylabel "query latency (us, log scale)"
    set key outside bottom center horizontal maxrows 3 font ",8" width -2
    set bmargin 9
    do for [q in "p50 p99 p999"] {
        qq = (q eq "p999") ? "p99.9" : q
        set title "query latency ".qq
        col = q."_us"
        fcol = "rtt_".q."_us"
        plot for [i=1:words(series)] f using (strcol("series") eq word(series,i) ? column("load_pct") : NaN):col \
                 lw 2 lc rgb color(word(series,i)) title word(series,i), \
             for [j=1:3] ff using (strcol("pin") eq word(pins,j) ? -5 : NaN):fcol:(110):(0) \
                 with vectors nohead dt 2 lw 1.5 lc rgb pincolor(word(pins,j)) title "pipe round trip, pin ".word(pins,j)
    }
    unset multiplot
    unset output
}
