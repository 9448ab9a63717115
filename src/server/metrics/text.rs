//! The Prometheus text exposition format (version 0.0.4): one `# HELP` and `# TYPE` line per
//! family, then its samples; label values escaped, labels in name order (as the Go client
//! that MinIO uses writes them, so that scrapes of both read alike).

use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Labels of one sample, as (name, value) pairs in any order.
pub type Labels = Vec<(&'static str, String)>;

/// One sample of a family: its name suffix (`_bucket`, `_sum`, … or empty), labels, value.
pub struct Sample {
    pub suffix: &'static str,
    pub labels: Labels,
    pub value: f64,
}

impl Sample {
    pub fn new(labels: Labels, value: impl Into<f64>) -> Sample {
        Sample {
            suffix: "",
            labels,
            value: value.into(),
        }
    }

    pub fn with_suffix(suffix: &'static str, labels: Labels, value: impl Into<f64>) -> Sample {
        Sample {
            suffix,
            labels,
            value: value.into(),
        }
    }
}

/// A page of metrics being written; every sample gets the `server` label, as MinIO's do.
pub struct Page {
    out: String,
    server: String,
}

impl Page {
    pub fn new(server: &str) -> Page {
        Page {
            out: String::with_capacity(16 << 10),
            server: server.to_string(),
        }
    }

    /// A family with its samples; a family without samples is left out altogether.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind, samples: Vec<Sample>) {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
        for s in samples {
            self.sample(name, s);
        }
    }

    /// A family of one unlabelled (but for `server`) sample.
    pub fn single(&mut self, name: &str, help: &str, kind: Kind, value: impl Into<f64>) {
        self.family(name, help, kind, vec![Sample::new(Vec::new(), value)]);
    }

    fn sample(&mut self, name: &str, mut s: Sample) {
        s.labels.push(("server", self.server.clone()));
        s.labels.sort_by(|a, b| a.0.cmp(b.0));
        let labels: Vec<String> = s
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(
            self.out,
            "{name}{}{{{}}} {}",
            s.suffix,
            labels.join(","),
            number(s.value)
        );
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Whole numbers without a fraction (counters and byte counts read as they are), others as
/// Rust prints them; infinities and NaN as the format spells them.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_in_the_text_format() {
        let mut p = Page::new("host:9000");
        p.family(
            "x_total",
            "Things.",
            Kind::Counter,
            vec![Sample::new(
                vec![("api", "get\"a\\b\nc".into()), ("a", "1".into())],
                3u32,
            )],
        );
        p.family("empty", "None.", Kind::Gauge, Vec::new());
        p.single("g", "A gauge.", Kind::Gauge, 0.25);
        assert_eq!(
            p.finish(),
            "# HELP x_total Things.\n# TYPE x_total counter\n\
             x_total{a=\"1\",api=\"get\\\"a\\\\b\\nc\",server=\"host:9000\"} 3\n\
             # HELP g A gauge.\n# TYPE g gauge\ng{server=\"host:9000\"} 0.25\n"
        );
    }
}
