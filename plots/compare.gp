# compare.gp - `make bench-compare --graph`: the change of each
# configuration between two runs, one horizontal bar each (B vs A of the
# medians, in percent). Green is better, red worse (for msgs/s higher is
# better, for ns/msg and us lower); pale bars are changes the repetitions
# do not make significant.
# Variables: dir (holds compare.csv, columns label, change_pct, significant,
# better, colour), n (the number of bars), heading.
if (!exists("plots")) plots = "plots"
load plots."/common.gp"
f = dir."/compare.csv"
h = 120 + 15 * n
do for [fmt=1:2] {
    if (fmt == 1) { set term pngcairo size 1200,h font ",9" noenhanced } else { set term svg size 1200,h dynamic font ",9" noenhanced }
    set output dir."/compare.".png_or_svg(fmt)
    set title heading."\ngreen: better, red: worse; pale: not significant" font ",10"
    set xlabel "change of the median, B vs A (%)"
    set yrange [n:-1.5]
    set xtics nomirror
    set ytics nomirror font ",8"
    set grid xtics noytics
    unset key
    set style fill solid 1.0 noborder
    set yzeroaxis lt -1 lw 1
    set lmargin 52
    plot f using (column("change_pct")/2):0:(abs(column("change_pct"))/2):(0.38):(column("colour")):ytic(1) \
         with boxxyerror lc rgb variable
    unset output
}
