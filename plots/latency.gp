# latency.gp - experiment 5: query latency p50, p99 and p99.9 vs offered
# load (percent of each program's own measured maximum), measured from each
# query's intended send time. Horizontal lines: the floors, measured in the
# same run (exp5_floor.csv). Dashed, a bare pipe ping-pong back to back
# (pin none, same CPU, spread over CPUs): the floor under a query to a busy
# program. Solid, with both sides blocked gap_us between rounds: the timer
# wake alone (a one-process loop's idle floor), the idle round trip, and
# due -> reply (timer wake + idle round trip: an idle cross-process query).
# Variables: dir, series.
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/exp5_latency.csv"
ff = dir."/exp5_floor.csv"
pins = "none same spread"
pincolor(p) = (p eq "none") ? 0x555555 : (p eq "same") ? 0x17becf : 0xbcbd22
idles = "wake rtt due"
idlename(m) = (m eq "wake") ? "idle: timer wake" : (m eq "rtt") ? "idle: pipe round trip" : "idle: due -> reply"
idlecolor(m) = (m eq "wake") ? 0x9467bd : (m eq "rtt") ? 0x8c564b : 0xe377c2
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
        plot for [i=1:words(series)] f using (strcol("series") eq word(series,i) ? column("load_pct") : NaN):col \
                 lw 2 lc rgb color(word(series,i)) title word(series,i), \
             for [j=1:3] ff using (strcol("pin") eq word(pins,j) && column("gap_us") == 0 ? -5 : NaN):"rtt_".q."_us":(110):(0) \
                 with vectors nohead dt 2 lw 1.5 lc rgb pincolor(word(pins,j)) title "hot pipe round trip, pin ".word(pins,j), \
             for [m=1:3] ff using (column("gap_us") > 0 ? -5 : NaN):word(idles,m)."_".q."_us":(110):(0) \
                 with vectors nohead lw 1.5 lc rgb idlecolor(word(idles,m)) title idlename(word(idles,m))
    }
    unset multiplot
    unset output
}
