//! Time-series charts drawn with plotters into an SVG string: on the server for the first paint,
//! in the browser on every new sample. Only numbers and our own labels go into the SVG; the
//! legend with the latest values is plain text next to it. Lines break where samples are missing
//! (target down, counters reset) instead of bridging the gap.

use leptos::prelude::*;
use plotters::prelude::*;

use crate::components::hydration::taking_over;

const WIDTH: u32 = 520;
const HEIGHT: u32 = 180;
pub const PALETTE: [(u8, u8, u8); 6] = [
    (59, 130, 246),
    (239, 68, 68),
    (34, 197, 94),
    (245, 158, 11),
    (168, 85, 247),
    (20, 184, 166),
];
const AXIS: RGBColor = RGBColor(138, 148, 166);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    PerSecond,
    /// A 0..=1 ratio shown as a percentage.
    Ratio,
    BytesPerSecond,
    Bytes,
    Millis,
    PerMinute,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Ratio => format!("{:.2} %", v * 100.0),
            Unit::Bytes => super::format::bytes(v.round() as i64),
            Unit::BytesPerSecond => format!("{}/s", super::format::bytes(v.round() as i64)),
            Unit::Millis => super::format::millis(v.round() as i64),
            Unit::PerSecond => format!("{}/s", short(v)),
            Unit::PerMinute => format!("{}/min", short(v)),
            Unit::Count => short(v),
        }
    }

    fn axis(self, v: f64) -> String {
        match self {
            Unit::Ratio => format!("{:.0}%", v * 100.0),
            Unit::Bytes | Unit::BytesPerSecond => super::format::bytes(v.round() as i64),
            Unit::Millis => format!("{} ms", short(v)),
            _ => short(v),
        }
    }
}

/// 1234 → "1.2k", 0.25 → "0.25".
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: &'static str,
    pub points: Vec<(i64, Option<f64>)>,
}

impl Line {
    pub fn latest(&self) -> Option<f64> {
        self.points.iter().rev().find_map(|(_, v)| *v)
    }
}

/// The x-axis window and where lines must break.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Two samples further apart than this are not joined.
    pub gap_ms: i64,
}

fn clock_label(ms: i64, with_day: bool) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    if with_day {
        format!(
            "{:02}-{:02} {:02}:{:02}",
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    } else {
        format!("{:02}:{:02}", t.hour(), t.minute())
    }
}

/// Splits a line into runs without missing values or long gaps.
fn segments(points: &[(i64, Option<f64>)], gap_ms: i64) -> Vec<Vec<(i64, f64)>> {
    let mut out: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut current: Vec<(i64, f64)> = Vec::new();
    for (t, v) in points {
        match v {
            Some(v) if current.last().is_none_or(|(pt, _)| t - pt <= gap_ms) => {
                current.push((*t, *v))
            }
            Some(v) => {
                out.push(std::mem::take(&mut current));
                current.push((*t, *v));
            }
            None => out.push(std::mem::take(&mut current)),
        }
    }
    out.push(current);
    out.retain(|s| !s.is_empty());
    out
}

/// The chart as an SVG document.
pub fn render_svg(lines: &[Line], unit: Unit, window: Window) -> String {
    let mut svg = String::new();
    let _ = draw(&mut svg, lines, unit, window);
    svg
}

fn draw(
    svg: &mut String,
    lines: &[Line],
    unit: Unit,
    w: Window,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    let values = lines.iter().flat_map(|l| {
        l.points
            .iter()
            .filter_map(|(t, v)| v.filter(|_| *t >= w.from_ms))
    });
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    let (y0, y1) = match unit {
        // Always the whole 0–100 %: a zoomed axis turns the noise of a quiet second (few block
        // reads) into what looks like an outage; the legend carries the exact latest value.
        Unit::Ratio => (0.0, 1.0),
        // A flat zero line still gets a scale with sensible steps for its unit.
        _ => {
            let floor = match unit {
                Unit::Bytes | Unit::BytesPerSecond => 4096.0,
                Unit::Millis => 1.0,
                _ => 4.0,
            };
            (
                0.0,
                if hi.is_finite() {
                    (hi * 1.15).max(floor)
                } else {
                    floor
                },
            )
        }
    };
    let with_day = w.to_ms - w.from_ms > 24 * 3_600_000;
    let label_style = ("sans-serif", 11).into_font().color(&AXIS);
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .margin_right(14)
        .x_label_area_size(22)
        .y_label_area_size(54)
        .build_cartesian_2d(w.from_ms..w.to_ms, y0..y1)?;
    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(4)
        .x_label_formatter(&|ms| clock_label(*ms, with_day))
        .y_label_formatter(&|v| unit.axis(*v))
        .label_style(label_style)
        .axis_style(AXIS.mix(0.6))
        .bold_line_style(AXIS.mix(0.18))
        .light_line_style(TRANSPARENT)
        .draw()?;
    for (i, line) in lines.iter().enumerate() {
        let (r, g, b) = PALETTE[i % PALETTE.len()];
        let color = RGBColor(r, g, b);
        let runs: Vec<Vec<(i64, f64)>> = segments(&line.points, w.gap_ms)
            .into_iter()
            .map(|run| run.into_iter().filter(|(t, _)| *t >= w.from_ms).collect())
            .filter(|run: &Vec<(i64, f64)>| !run.is_empty())
            .collect();
        let last = runs.len().saturating_sub(1);
        for (i, run) in runs.into_iter().enumerate() {
            match run.as_slice() {
                // A lone sample has no line: a dot shows it only when it is the newest (a fresh
                // start); an old one cut off by a gap would float far from the line.
                [only] if i == last => {
                    chart.draw_series(std::iter::once(Circle::new(*only, 3, color.filled())))?;
                }
                [_] => {}
                _ => {
                    chart.draw_series(LineSeries::new(run, color.stroke_width(2)))?;
                }
            }
        }
    }
    root.present()?;
    Ok(())
}

/// The chart in words, for screen readers: each line's latest value and its range over the
/// window ("Transactions: commits 120/s now, 80/s to 200/s in the window").
pub fn summary(title: &str, lines: &[Line], unit: Unit) -> String {
    let parts = lines
        .iter()
        .map(|line| {
            let values = line.points.iter().filter_map(|(_, v)| *v);
            let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            match line.latest() {
                Some(v) => format!(
                    "{} {} now, {} to {} in the window",
                    line.label,
                    unit.format(v),
                    unit.format(lo),
                    unit.format(hi)
                ),
                None => format!("{} no data", line.label),
            }
        })
        .collect::<Vec<_>>();
    if parts.is_empty() {
        format!("{title}: no data")
    } else {
        format!("{title}: {}", parts.join("; "))
    }
}

/// A titled chart with its legend (latest value of each line).
#[component]
pub fn Chart(
    #[prop(into)] title: String,
    #[prop(into)] key: String,
    unit: Unit,
    #[prop(into)] lines: Signal<Vec<Line>>,
    #[prop(into)] window: Signal<Window>,
    /// Shown instead of the chart when the panel has no data, with the reason.
    #[prop(optional, into)]
    note: Signal<Option<String>>,
) -> impl IntoView {
    // The server draws the first SVG into the page and the browser keeps it: drawing every chart
    // again while taking the page over would delay the moment the page answers by plotters' run.
    let svg = Memo::new(move |first: Option<&String>| {
        let window = window.get();
        lines.with(|l| {
            if first.is_none() && taking_over() {
                String::new()
            } else {
                render_svg(l, unit, window)
            }
        })
    });
    let words = {
        let title = title.clone();
        Memo::new(move |_| lines.with(|l| summary(&title, l, unit)))
    };
    let legend = move || {
        lines.with(|lines| {
            lines
                .iter()
                .enumerate()
                .map(|(i, line)| {
                    let value = line
                        .latest()
                        .map_or_else(|| "—".to_owned(), |v| unit.format(v));
                    // A class per palette colour: the page's CSP allows no inline styles.
                    view! {
                        <span class="legend-item">
                            <span class=format!("swatch c{}", i % PALETTE.len())></span>
                            {line.label}
                            " "
                            <b class="mono">{value}</b>
                        </span>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <figure class="chart" data-testid="chart" data-chart=key>
            <figcaption>
                <span class="chart-title">{title}</span>
                <span class="legend">{legend}</span>
            </figcaption>
            {move || note.get().map(|n| view! { <p class="chart-note muted small">{n}</p> })}
            <div class="chart-svg" role="img" aria-label=move || words.get() inner_html=move || svg.get()></div>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_line_with_its_latest_value_and_range() {
        let lines = vec![
            Line {
                label: "commits",
                points: vec![(0, Some(80.0)), (1_000, Some(200.0)), (2_000, Some(120.0))],
            },
            Line {
                label: "rollbacks",
                points: vec![(0, None)],
            },
        ];
        assert_eq!(
            summary("Transactions", &lines, Unit::Count),
            "Transactions: commits 120 now, 80 to 200 in the window; rollbacks no data"
        );
        assert_eq!(summary("Empty", &[], Unit::Count), "Empty: no data");
    }

    #[test]
    fn lines_break_at_gaps_and_missing_values() {
        let pts = vec![
            (0, Some(1.0)),
            (1_000, Some(2.0)),
            (2_000, None),
            (3_000, Some(3.0)),
            (60_000, Some(4.0)),
        ];
        let s = segments(&pts, 5_000);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], vec![(0, 1.0), (1_000, 2.0)]);
    }

    #[test]
    fn a_lone_old_sample_is_not_drawn_but_the_newest_is() {
        let w = Window {
            from_ms: 0,
            to_ms: 600_000,
            gap_ms: 5_000,
        };
        // An isolated early point (a stored minute before the live samples), then a line.
        let mut points = vec![(10_000, Some(3.0))];
        points.extend((0..10).map(|i| (300_000 + i * 1000, Some(i as f64))));
        let svg = render_svg(&[Line { label: "x", points }], Unit::Count, w);
        assert!(!svg.contains("<circle"), "{svg}");
        // A fresh start: one sample, and it is shown.
        let svg = render_svg(
            &[Line {
                label: "x",
                points: vec![(590_000, Some(1.0))],
            }],
            Unit::Count,
            w,
        );
        assert!(svg.contains("<circle"), "{svg}");
    }

    #[test]
    fn the_ratio_axis_always_spans_zero_to_a_hundred() {
        let noisy = Line {
            label: "hit",
            points: (0..10)
                .map(|i: i64| (i * 1000, Some(if i % 2 == 0 { 0.9 } else { 0.99 })))
                .collect(),
        };
        let svg = render_svg(
            &[noisy],
            Unit::Ratio,
            Window {
                from_ms: 0,
                to_ms: 10_000,
                gap_ms: 5_000,
            },
        );
        // Axis labels are text nodes on lines of their own.
        assert!(svg.contains("\n0%\n"), "{svg}");
        assert!(!svg.contains("\n90%\n"), "no zoomed axis: {svg}");
    }

    #[test]
    fn the_svg_has_the_lines_and_no_foreign_text() {
        let line = Line {
            label: "commit",
            points: (0..10).map(|i| (i * 1000, Some(i as f64))).collect(),
        };
        let svg = render_svg(
            &[line],
            Unit::PerSecond,
            Window {
                from_ms: 0,
                to_ms: 10_000,
                gap_ms: 5_000,
            },
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<polyline"), "{svg}");
        assert!(!svg.contains("<script"));
        assert_eq!(short(1234.0), "1.2k");
        assert_eq!(Unit::Ratio.format(0.9912), "99.12 %");
    }
}
