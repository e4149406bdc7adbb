//! One run's samples between two logs: averaged and rounded as Python's monitors do, with
//! the network counters as a difference from the run's start.

/// Bytes received and sent by all interfaces (loopback included, as `psutil` counts them)
/// since the machine booted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NetworkTotals {
    pub(crate) received: u64,
    pub(crate) transmitted: u64,
}

/// One sample of every source.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Reading {
    /// Averaged over a window: `(key, value)`, keys without the prefix.
    pub(crate) values: Vec<(String, f64)>,
    pub(crate) network: Option<NetworkTotals>,
}

/// The samples of one run since its last log.
#[derive(Debug)]
pub(crate) struct Window {
    /// Key, sum, number of samples that had the key (a value that could not be read is
    /// missing from a sample, and Python averages over the samples that have it).
    sums: Vec<(String, f64, u32)>,
    samples: usize,
    /// The counters when the run's monitoring started.
    network_start: Option<NetworkTotals>,
    network_last: Option<NetworkTotals>,
}

impl Window {
    pub(crate) fn new(network_start: Option<NetworkTotals>) -> Window {
        Window {
            sums: Vec::new(),
            samples: 0,
            network_start,
            network_last: None,
        }
    }

    pub(crate) fn add(&mut self, reading: &Reading) {
        for (key, value) in &reading.values {
            match self.sums.iter_mut().find(|(k, _, _)| k == key) {
                Some((_, sum, n)) => {
                    *sum += value;
                    *n += 1;
                }
                None => self.sums.push((key.clone(), *value, 1)),
            }
        }
        if reading.network.is_some() {
            self.network_last = reading.network;
        }
        self.samples += 1;
    }

    pub(crate) fn samples(&self) -> usize {
        self.samples
    }

    /// The values to log, keys prefixed, and an empty window: each averaged value rounded
    /// to one decimal; the network keys the megabytes since the start, from the last sample,
    /// neither averaged nor rounded (Python's `NetworkMonitor`).
    pub(crate) fn take(&mut self, prefix: &str) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = self
            .sums
            .drain(..)
            .map(|(key, sum, n)| (format!("{prefix}{key}"), round1(sum / f64::from(n))))
            .collect();
        if let (Some(start), Some(last)) = (self.network_start, self.network_last.take()) {
            // Megabytes first, then the difference, in Python's order of operations.
            let mb = |bytes: u64| bytes as f64 / 1e6;
            out.push((
                format!("{prefix}network_receive_megabytes"),
                mb(last.received) - mb(start.received),
            ));
            out.push((
                format!("{prefix}network_transmit_megabytes"),
                mb(last.transmitted) - mb(start.transmitted),
            ));
        }
        self.samples = 0;
        out
    }
}

/// Python's `round(x, 1)`: the nearest one-decimal number to the exact binary value, ties
/// to even. Rust's `{:.1}` formats the exact value with the same rule, and parsing the
/// result gives the closest `f64`, as Python's `round` returns.
pub(crate) fn round1(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.1}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(values: &[(&str, f64)], rx: u64, tx: u64) -> Reading {
        Reading {
            values: values.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            network: Some(NetworkTotals {
                received: rx,
                transmitted: tx,
            }),
        }
    }

    #[test]
    fn round1_matches_python_round() {
        // Python 3: [round(x, 1) for x in ...]
        let cases = [
            (0.25, 0.2),
            (0.35, 0.3),
            (0.45, 0.5),
            (2.675, 2.7),
            (12.25, 12.2),
            (0.05, 0.1),
            (0.15, 0.1),
            (1.05, 1.1),
            (99.95, 100.0),
            (33.333333, 33.3),
            (-0.25, -0.2),
        ];
        for (x, python) in cases {
            assert_eq!(round1(x), python, "round({x}, 1)");
        }
    }

    #[test]
    fn values_are_averaged_and_rounded_network_is_the_last_difference() {
        let mut w = Window::new(Some(NetworkTotals {
            received: 1_000_000,
            transmitted: 500_000,
        }));
        w.add(&reading(&[("cpu", 10.0), ("mem", 1.0)], 3_000_000, 500_000));
        w.add(&reading(&[("cpu", 20.5), ("mem", 2.0)], 4_500_000, 700_000));
        w.add(&reading(&[("cpu", 30.0)], 4_000_000, 900_000));
        assert_eq!(w.samples(), 3);
        let out = w.take("system/");
        assert_eq!(
            out,
            [
                ("system/cpu".to_owned(), 20.2), // 60.5 / 3 = 20.1666..
                ("system/mem".to_owned(), 1.5),  // over the two samples that had it
                ("system/network_receive_megabytes".to_owned(), 3.0),
                ("system/network_transmit_megabytes".to_owned(), 0.4),
            ]
        );
        assert_eq!(w.samples(), 0);
        assert!(
            w.take("system/").is_empty(),
            "the window starts empty again"
        );
    }

    #[test]
    fn the_prefix_carries_the_node_id() {
        let mut w = Window::new(None);
        w.add(&reading(&[("cpu", 1.0)], 0, 0));
        assert_eq!(
            w.take("system/node-1/"),
            [("system/node-1/cpu".to_owned(), 1.0)]
        );
    }
}
