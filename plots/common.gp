# common.gp - what every msgroute graph shares. Loaded by each plots/*.gp,
# which bench/run calls as:
#   gnuplot -e "plots='plots'; dir='RESULTS'; series='phase1 python ...'" plots/NAME.gp
# Each script draws its graph twice, as RESULTS/NAME.png and RESULTS/NAME.svg.
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key outside right top box opaque samplen 2 font ",9"
set style data linespoints
set pointsize 0.9
# A fixed colour per series, whatever else the run found.
color(s) = (s eq "phase1") ? 0x1f77b4 : (s eq "phase2") ? 0xff7f0e : (s eq "phase3") ? 0x2ca02c : \
           (s eq "phase4") ? 0xd62728 : (s eq "phase5") ? 0x9467bd : (s eq "python") ? 0x8c564b : \
           (s eq "call") ? 0x17becf : (s eq "pipe") ? 0x7f7f7f : (s eq "ring") ? 0xd62728 : \
           (s eq "mp.Queue") ? 0x8c564b : 0xbcbd22
# Opens format i (1 = PNG, 2 = SVG) of graph name at w x h pixels.
png_or_svg(i) = (i == 1) ? "png" : "svg"
