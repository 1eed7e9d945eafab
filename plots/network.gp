# network.gp - experiment 6: phase 5 over ZeroMQ, 2 workers. Left and
# middle: its throughput against the credit window (--window) and against
# the batch size (--batch), log x, with min-max bars over the repetitions;
# dashed horizontal lines are phases 3 and 4 at 2 workers, dotted ones
# phase 5 at its defaults without and with CURVE (--keys), all measured in
# the same run. Right: phase 5's query p50 and p99 at light load against
# the floors, a bare ZeroMQ round trip and a bare TCP one (bench/netfloor.c).
# Variables: dir, refs (the reference series: phase3 phase4).
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/exp6_network.csv"
fq = dir."/exp6_query.csv"
ff = dir."/exp6_floor.csv"
p5 = color("phase5")
curvename(v) = (v == 0) ? "phase5 defaults" : "phase5 defaults, CURVE (--keys)"
curvecolor(v) = (v == 0) ? 0x555555 : 0xe377c2
floorcolor(t) = (t eq "zmq") ? 0x17becf : 0xbcbd22
# One panel: phase 5's msgs/s against knob, the reference lines spanning
# [x0, x1] (a vector from x0 of length x1 - x0).
panel(knob) = sprintf("plot f using (strcol('knob') eq '%s' ? column('value') : NaN):'msgs_per_s_median':'msgs_per_s_min':'msgs_per_s_max' with yerrorlines lw 2 lc rgb p5 title 'phase5 (--%s)', for [i=1:words(refs)] f using (strcol('series') eq word(refs,i) ? x0 : NaN):'msgs_per_s_median':(x1-x0):(0) with vectors nohead dt 2 lw 2 lc rgb color(word(refs,i)) title word(refs,i).', 2 workers', for [v=0:1] f using (strcol('knob') eq 'curve' && column('value') == v ? x0 : NaN):'msgs_per_s_median':(x1-x0):(0) with vectors nohead dt 3 lw 2 lc rgb curvecolor(v) title curvename(v)", knob, knob)
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 1560,520 font ",10" noenhanced } else { set term svg size 1560,520 dynamic font ",10" noenhanced }
    set output dir."/network.".png_or_svg(fmt)
    set multiplot layout 1,3 title "Experiment 6: phase 5 over ZeroMQ (2 workers, 10000 uniform ids, 0-byte payloads)"
    set logscale y 10
    set format y "%.0s%c"
    set ylabel "throughput (messages/s)"
    set key inside bottom right box opaque font ",8"
    set logscale x 4
    set offsets 0, 0, graph 0.08, graph 0.08

    set title "throughput vs credit window"
    set xlabel "--window (frames each worker grants, log)"
    x0 = 8; x1 = 8192
    set xrange [x0:x1]
    set xtics (16, 64, 256, 1024, 4096)
    eval panel("window")

    set title "throughput vs batch size"
    set xlabel "--batch (messages per ZeroMQ message at most, log)"
    x0 = 0.5; x1 = 2048
    set xrange [x0:x1]
    set xtics (1, 4, 16, 64, 256, 1024)
    eval panel("batch")

    set title "query round trip at light load vs the floors"
    unset logscale x
    set offsets 0, 0, 0, 0
    set xrange [0.4:2.6]
    set xtics ("p50" 1, "p99" 2)
    unset xlabel  # the tics say p50, p99
    set ylabel "round trip (us, log scale)"
    set format y "%g"
    set key below box font ",8"
    set boxwidth 0.2
    set style fill solid 0.7 border -1
    plot fq using (1 - 0.22):"p50_us" with boxes lc rgb p5 title "phase5 query, light load", \
         fq using (2 - 0.22):"p99_us" with boxes lc rgb p5 notitle, \
         for [t in "zmq tcp"] ff using (strcol("transport") eq t ? 1 + (t eq "zmq" ? 0 : 0.22) : NaN):"rtt_p50_us" \
             with boxes lc rgb floorcolor(t) title "bare ".(t eq "zmq" ? "ZeroMQ DEALER-ROUTER" : "TCP")." round trip", \
         for [t in "zmq tcp"] ff using (strcol("transport") eq t ? 2 + (t eq "zmq" ? 0 : 0.22) : NaN):"rtt_p99_us" \
             with boxes lc rgb floorcolor(t) notitle
    unset multiplot
    unset output
}
