# serial.gp - experiment 3: encode ("pack") and decode ("unpack") time per
# message for each message type and codec (log scale), and the share of a
# message's whole cost spent in (de)serialization for each worker program.
# Variables: dir.
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/exp3_serial.csv"
fs = dir."/exp3_share.csv"
codecs = "c/raw c/frame c/msgpack python/msgpack python/pickle"
cname(k) = (k == 1) ? "C raw copy (memcpy)" : (k == 2) ? "C phase-3 frame codec (codec.h)" : \
           (k == 3) ? "C msgpack-c object API" : (k == 4) ? "Python msgpack" : "Python pickle"
ccolor(k) = (k == 1) ? 0x17becf : (k == 2) ? 0x1f77b4 : (k == 3) ? 0x2ca02c : (k == 4) ? 0xff7f0e : 0x8c564b
nc = words(codecs)
lang(k) = word(codecs,k)[1:strstrt(word(codecs,k),"/")-1]
codec(k) = word(codecs,k)[strstrt(word(codecs,k),"/")+1:]
# The message types on the x axis: 0 primitives, 1 nested, 2 the numeric array.
tix(t) = (t eq "primitives") ? 0 : (t eq "nested") ? 1 : 2
bw = 0.16
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 1500,480 font ",10" noenhanced } else { set term svg size 1500,480 dynamic font ",10" noenhanced }
    set output dir."/serial.".png_or_svg(fmt)
    set multiplot layout 1,3 title "Experiment 3: serialization cost per message"
    set style fill solid 0.85 border -1
    set boxwidth bw
    set logscale y 10
    set yrange [1:*]
    set format y "%.0s%c"
    set bmargin 5
    set xrange [-0.5:2.5]
    set xtics ("primitives\n(frame header)" 0, "nested\n(map, lists)" 1, "f64 array\n(1000 doubles)" 2)
    set ylabel "time per message (ns, log scale)"
    set key inside top left font ",8"
    do for [op in "pack unpack"] {
        set title (op eq "pack" ? "pack (encode a struct/object)" : "unpack (decode into a struct/object)")
        plot for [k=1:nc] f using \
            ((strcol("lang") eq lang(k) && strcol("codec") eq codec(k) && strcol("op") eq op) ? tix(strcol("type")) - 2*bw + (k-1)*bw : NaN):"ns_per_msg_median" \
            with boxes lc rgb ccolor(k) title cname(k)
    }
    unset logscale y
    set yrange [0:100]
    set format y "%g"
    set ylabel "share of per-message time (%)"
    stats fs using 0 nooutput
    set xrange [-0.6:STATS_records - 0.4]
    set xtics autofreq
    set title "share of a message's cost in (de)serialization\n(estimated: codec ns / CPU ns per message of all processes)"
    set style fill solid 0.85 border -1
    set boxwidth 0.6
    set key off
    how(m) = strstrt(m, "measured") ? "(measured)" : strstrt(m, "estimated") ? "(estimated)" : "(no codec)"
    plot fs using 0:(100*column("share")):xtic(strcol("series")."\n".how(strcol("method"))) with boxes lc rgb 0x2ca02c, \
         fs using 0:(100*column("share")):(sprintf("%.0f %%", 100*column("share"))) with labels offset 0,0.8
    unset multiplot
    unset output
}
