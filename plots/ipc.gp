# ipc.gp - experiment 2: cost per message vs payload size, log-log. Solid:
# the transports alone (in-process call, pipe, phase-4 ring,
# multiprocessing.Queue); dashed: each program end to end with one worker (transport
# "phaseN/e2e" in the CSV; 1e9 / its msgs/s).
# Variables: dir, series (the transport column's values).
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/exp2_ipc.csv"
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 900,560 font ",10" } else { set term svg size 900,560 dynamic font ",10" }
    set output dir."/ipc.".png_or_svg(fmt)
    set title "Experiment 2: cost of moving one message vs payload size"
    set logscale xy 10
    set xlabel "payload (bytes)"
    set ylabel "time per message (ns)"
    set xrange [70:1.6e6]
    set xtics ("100 B" 100, "1 KiB" 1024, "10 KiB" 10240, "100 KiB" 102400, "1 MiB" 1048576)
    set format y "10^{%L}"
    set key outside right top
    e2e(s) = strstrt(s, "/e2e") > 0
    base(s) = e2e(s) ? s[1:strstrt(s, "/")-1] : s
    name(s) = e2e(s) ? base(s)." end to end" : (s eq "call") ? "in-process call (memcpy)" : \
              (s eq "pipe") ? "pipe between 2 processes" : (s eq "ring") ? "phase-4 shm ring" : \
              (s eq "mp.Queue") ? "Python multiprocessing.Queue" : s
    plot for [i=1:words(series)] f using \
             (strcol("transport") eq word(series,i) ? column("size_bytes") : NaN):"ns_per_msg_median" \
             with linespoints lw 2 dt 1+e2e(word(series,i)) pt 7-e2e(word(series,i)) \
             lc rgb color(base(word(series,i))) title name(word(series,i))
    unset output
}
