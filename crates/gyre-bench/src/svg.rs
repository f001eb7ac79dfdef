//! A small hand-written SVG writer: a document, line and bar charts with axes, ticks, labels
//! and a legend. Enough for the bench's charts without a plotting dependency.

use std::fmt::Write as _;

pub(crate) const PALETTE: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const FONT: &str = "font-family=\"sans-serif\"";

pub(crate) struct Svg {
    out: String,
}

/// Where a chart goes in the document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rect {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
}

/// A named line: `(x, y)` points.
pub(crate) struct Line {
    pub(crate) name: String,
    pub(crate) color: &'static str,
    pub(crate) dashed: bool,
    pub(crate) points: Vec<(f64, f64)>,
}

/// A named group of bars, one value per category.
pub(crate) struct Bars {
    pub(crate) name: String,
    pub(crate) color: &'static str,
    pub(crate) values: Vec<f64>,
}

/// Axis description.
pub(crate) struct Axis<'a> {
    pub(crate) label: &'a str,
    /// Ticks only at whole numbers (seconds).
    pub(crate) integer: bool,
    pub(crate) log: bool,
    pub(crate) format: fn(f64) -> String,
}

impl Svg {
    pub(crate) fn new(width: f64, height: f64) -> Svg {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\">"
        );
        let _ = writeln!(
            out,
            "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"white\"/>"
        );
        Svg { out }
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }

    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, color: &str, width: f64) {
        let _ = writeln!(
            self.out,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{color}\" stroke-width=\"{width}\"/>"
        );
    }

    pub(crate) fn rect(&mut self, r: Rect, fill: &str) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"/>",
            r.x, r.y, r.w, r.h
        );
    }

    pub(crate) fn polyline(&mut self, points: &[(f64, f64)], color: &str, dashed: bool) {
        let mut pts = String::new();
        for (x, y) in points {
            let _ = write!(pts, "{x:.1},{y:.1} ");
        }
        let dash = if dashed { " stroke-dasharray=\"6 4\"" } else { "" };
        let _ = writeln!(
            self.out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
            pts.trim_end()
        );
    }

    /// Text; `anchor` is start, middle or end; `rotate` turns it around its anchor point.
    pub(crate) fn text(&mut self, x: f64, y: f64, text: &str, size: f64, anchor: &str, rotate: Option<f64>) {
        let transform = rotate.map_or(String::new(), |a| {
            format!(" transform=\"rotate({a} {x:.1} {y:.1})\"")
        });
        let _ = writeln!(
            self.out,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" {FONT} font-size=\"{size}\" text-anchor=\"{anchor}\"{transform}>{}</text>",
            escape(text)
        );
    }

    /// One row of legend entries, right-aligned in the panel's title row.
    fn legend(&mut self, panel: Rect, entries: &[(&str, &str, bool)]) {
        let widths: Vec<f64> = entries
            .iter()
            .map(|(name, ..)| 34.0 + 6.5 * name.chars().count() as f64)
            .collect();
        let mut x = panel.x + panel.w - 12.0 - widths.iter().sum::<f64>();
        let cy = panel.y + 13.0;
        for ((name, color, dashed), w) in entries.iter().zip(widths) {
            let dash = if *dashed { " stroke-dasharray=\"6 4\"" } else { "" };
            let _ = writeln!(
                self.out,
                "<line x1=\"{:.1}\" y1=\"{cy:.1}\" x2=\"{:.1}\" y2=\"{cy:.1}\" stroke=\"{color}\" stroke-width=\"3\"{dash}/>",
                x,
                x + 20.0
            );
            self.text(x + 25.0, cy + 4.0, name, 11.0, "start", None);
            x += w;
        }
    }

    /// Frame, title, axis labels; returns the plotting area inside the margins.
    fn frame(&mut self, r: Rect, title: &str, x_label: &str, y_label: &str) -> Rect {
        let plot = Rect {
            x: r.x + 64.0,
            y: r.y + 28.0,
            w: r.w - 80.0,
            h: r.h - 72.0,
        };
        self.text(plot.x, r.y + 17.0, title, 14.0, "start", None);
        self.text(
            plot.x + plot.w / 2.0,
            r.y + r.h - 8.0,
            x_label,
            12.0,
            "middle",
            None,
        );
        let (lx, ly) = (r.x + 14.0, plot.y + plot.h / 2.0);
        self.text(lx, ly, y_label, 12.0, "middle", Some(-90.0));
        plot
    }

    fn y_axis(&mut self, plot: Rect, scale: &Scale, axis: &Axis<'_>) {
        for t in scale.ticks() {
            let y = plot.y + plot.h - scale.frac(t) * plot.h;
            self.line(plot.x, y, plot.x + plot.w, y, "#e5e5e5", 1.0);
            self.line(plot.x - 4.0, y, plot.x, y, "black", 1.0);
            self.text(plot.x - 7.0, y + 4.0, &(axis.format)(t), 11.0, "end", None);
        }
        self.line(plot.x, plot.y, plot.x, plot.y + plot.h, "black", 1.0);
        self.line(
            plot.x,
            plot.y + plot.h,
            plot.x + plot.w,
            plot.y + plot.h,
            "black",
            1.0,
        );
    }

    pub(crate) fn line_chart(&mut self, r: Rect, title: &str, x: &Axis<'_>, y: &Axis<'_>, lines: &[Line]) {
        let plot = self.frame(r, title, x.label, y.label);
        let all = || lines.iter().flat_map(|l| l.points.iter());
        let (x_min, x_max) = min_max(all().map(|p| p.0)).unwrap_or((0.0, 1.0));
        let (y_min, y_max) = min_max(all().map(|p| p.1)).unwrap_or((0.0, 1.0));
        let mut xs = Scale::linear(x_min, x_max, false);
        if x.integer {
            xs.step = xs.step.max(1.0);
        }
        let ys = if y.log {
            Scale::log(y_min, y_max)
        } else {
            Scale::linear(0.0_f64.min(y_min), y_max, true)
        };
        self.y_axis(plot, &ys, y);
        for t in xs.ticks() {
            let px = plot.x + xs.frac(t) * plot.w;
            self.line(px, plot.y + plot.h, px, plot.y + plot.h + 4.0, "black", 1.0);
            self.text(px, plot.y + plot.h + 17.0, &(x.format)(t), 11.0, "middle", None);
        }
        for l in lines {
            let pts: Vec<(f64, f64)> = l
                .points
                .iter()
                .map(|&(px, py)| {
                    (
                        plot.x + xs.frac(px) * plot.w,
                        plot.y + plot.h - ys.frac(py) * plot.h,
                    )
                })
                .collect();
            self.polyline(&pts, l.color, l.dashed);
        }
        let entries: Vec<_> = lines
            .iter()
            .map(|l| (l.name.as_str(), l.color, l.dashed))
            .collect();
        self.legend(r, &entries);
    }

    pub(crate) fn bar_chart(
        &mut self,
        r: Rect,
        title: &str,
        categories: &[String],
        y: &Axis<'_>,
        groups: &[Bars],
    ) {
        let plot = self.frame(r, title, "", y.label);
        let values = || groups.iter().flat_map(|g| g.values.iter().copied());
        let (lo, hi) = min_max(values()).unwrap_or((0.0, 1.0));
        let ys = if y.log {
            Scale::log(lo, hi)
        } else {
            Scale::linear(0.0, hi, true)
        };
        self.y_axis(plot, &ys, y);
        let slot = plot.w / categories.len().max(1) as f64;
        let bar = slot * 0.8 / groups.len().max(1) as f64;
        for (ci, cat) in categories.iter().enumerate() {
            let x0 = plot.x + slot * ci as f64 + slot * 0.1;
            self.text(x0 + slot * 0.4, plot.y + plot.h + 17.0, cat, 11.0, "middle", None);
            for (gi, g) in groups.iter().enumerate() {
                let v = g.values.get(ci).copied().unwrap_or(0.0);
                let h = ys.frac(v).clamp(0.0, 1.0) * plot.h;
                let x = x0 + bar * gi as f64;
                self.rect(
                    Rect {
                        x,
                        y: plot.y + plot.h - h,
                        w: bar * 0.92,
                        h,
                    },
                    g.color,
                );
                self.text(
                    x + bar * 0.46,
                    plot.y + plot.h - h - 3.0,
                    &(y.format)(v),
                    9.0,
                    "middle",
                    None,
                );
            }
        }
        let entries: Vec<_> = groups.iter().map(|g| (g.name.as_str(), g.color, false)).collect();
        self.legend(r, &entries);
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, v| {
        Some(acc.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v))))
    })
}

/// Maps data values to a 0..1 fraction of the axis.
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    step: f64,
}

impl Scale {
    fn linear(lo: f64, hi: f64, headroom: bool) -> Scale {
        let hi = if headroom { hi * 1.08 } else { hi };
        let (lo, hi) = if hi - lo <= 0.0 { (lo, lo + 1.0) } else { (lo, hi) };
        let step = nice_step((hi - lo) / 5.0);
        Scale {
            lo,
            hi,
            log: false,
            step,
        }
    }

    /// Whole decades around the data (values <= 0 cannot be shown and count as the minimum).
    fn log(lo: f64, hi: f64) -> Scale {
        let lo = lo.max(1.0);
        let hi = hi.max(lo * 10.0);
        Scale {
            // Half a decade of room below the smallest value, so its bar stays visible.
            lo: (lo.log10() - 0.5).floor(),
            hi: hi.log10().ceil(),
            log: true,
            step: 1.0,
        }
    }

    fn frac(&self, v: f64) -> f64 {
        if self.log {
            (v.max(1.0).log10() - self.lo) / (self.hi - self.lo)
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            return (self.lo as i32..=self.hi as i32).map(|e| 10f64.powi(e)).collect();
        }
        let first = (self.lo / self.step).ceil() * self.step;
        (0..=50)
            .map(|i| first + self.step * i as f64)
            .take_while(|&t| t <= self.hi + self.step * 1e-9)
            .collect()
    }
}

/// The 1, 2 or 5 × 10^k at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Checks that tags are balanced and attribute-safe; for tests of the chart writers.
#[cfg(test)]
pub(crate) fn assert_well_formed(doc: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = doc;
    while let Some(open) = rest.find('<') {
        assert!(!rest[..open].contains('>'), "stray '>' in text");
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "'<' inside tag {tag}");
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().expect("tag name"));
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert!(doc.starts_with("<svg "));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(v: f64) -> String {
        format!("{v}")
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(38.0), 50.0);
        assert_eq!(nice_step(700.0), 1000.0);
        let s = Scale::linear(0.0, 930.0, false);
        assert_eq!(s.ticks(), vec![0.0, 200.0, 400.0, 600.0, 800.0]);
        let l = Scale::log(420.0, 45_000.0);
        assert_eq!(l.ticks(), vec![100.0, 1000.0, 10_000.0, 100_000.0]);
        assert!((l.frac(1000.0) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(Scale::log(120.0, 45_000.0).ticks()[0], 10.0);
    }

    #[test]
    fn charts_are_well_formed_and_escaped() {
        let mut svg = Svg::new(800.0, 600.0);
        let x = Axis {
            label: "time <s>",
            integer: true,
            log: false,
            format: fmt,
        };
        let y = Axis {
            label: "latency & co",
            integer: false,
            log: true,
            format: fmt,
        };
        svg.line_chart(
            Rect {
                x: 0.0,
                y: 0.0,
                w: 800.0,
                h: 300.0,
            },
            "a \"title\"",
            &x,
            &y,
            &[Line {
                name: "p99 <gyre>".into(),
                color: PALETTE[0],
                dashed: true,
                points: vec![(0.0, 100.0), (1.0, 2000.0), (2.0, 0.0)],
            }],
        );
        svg.bar_chart(
            Rect {
                x: 0.0,
                y: 300.0,
                w: 800.0,
                h: 300.0,
            },
            "bars",
            &["p50".into(), "p99".into()],
            &y,
            &[Bars {
                name: "nats".into(),
                color: PALETTE[1],
                values: vec![10.0, 1e5],
            }],
        );
        // Empty input must not produce NaN coordinates.
        svg.line_chart(
            Rect {
                x: 0.0,
                y: 0.0,
                w: 300.0,
                h: 200.0,
            },
            "empty",
            &x,
            &y,
            &[],
        );
        let doc = svg.finish();
        assert_well_formed(&doc);
        assert!(doc.contains("p99 &lt;gyre&gt;"));
        assert!(doc.contains("latency &amp; co"));
        assert!(doc.contains("stroke-dasharray"));
        assert!(!doc.contains("NaN") && !doc.contains("inf"), "{doc}");
    }
}
