//! Where samples come from: the `ReadingSource` trait, and the machine's CPU, memory, disk
//! and network through `sysinfo` (and `statvfs` for the disk, as `psutil` reads it).

use super::window::NetworkTotals;

/// Something that can be sampled. A value that cannot be read is left out of the sample
/// (warned about once, see `warn_once`), never a panic or an error.
pub(crate) trait ReadingSource: Send {
    /// One sample of the values that are averaged over a window: `(key, value)`, keys
    /// without the `system/` prefix.
    fn sample(&mut self, into: &mut Vec<(String, f64)>);

    /// The cumulative network counters, for the keys logged as a difference from the start.
    fn network(&mut self) -> Option<NetworkTotals> {
        None
    }
}

/// Several sources sampled one after the other: the machine, then the GPUs.
pub(crate) struct Sources(pub(crate) Vec<Box<dyn ReadingSource>>);

impl ReadingSource for Sources {
    fn sample(&mut self, into: &mut Vec<(String, f64)>) {
        for source in &mut self.0 {
            source.sample(into);
        }
    }

    fn network(&mut self) -> Option<NetworkTotals> {
        self.0.iter_mut().find_map(|s| s.network())
    }
}

/// Why this build cannot log system metrics, if it cannot.
pub(crate) fn unavailable() -> Option<&'static str> {
    (!cfg!(feature = "system-metrics")).then_some(
        "system metrics were asked for, but mlflow-tracking was built without its \
         `system-metrics` feature: no system metrics are logged",
    )
}

#[cfg(feature = "system-metrics")]
pub(crate) mod host {
    use sysinfo::{Networks, System};

    use super::{NetworkTotals, ReadingSource};
    use crate::monitor::settings::warn_once;

    /// CPU, memory and network through `sysinfo`, the root filesystem through `statvfs`.
    pub(crate) struct Host {
        system: Option<System>,
        networks: Option<Networks>,
    }

    impl Host {
        pub(crate) fn new() -> Host {
            let system = System::new()
                .map(|mut s| {
                    // The first CPU figure is relative to this refresh.
                    s.refresh_cpu_usage();
                    s
                })
                .map_err(|e| warn_once(&format!("system metrics: no CPU or memory figures: {e}")))
                .ok();
            let networks = Networks::new_with_refreshed_list()
                .map_err(|e| warn_once(&format!("system metrics: no network figures: {e}")))
                .ok();
            Host { system, networks }
        }
    }

    impl ReadingSource for Host {
        fn sample(&mut self, into: &mut Vec<(String, f64)>) {
            if let Some(system) = &mut self.system {
                // Like `psutil.cpu_percent()`: the utilization since the previous sample.
                system.refresh_cpu_usage();
                system.refresh_memory();
                into.push((
                    "cpu_utilization_percentage".into(),
                    f64::from(system.global_cpu_usage()),
                ));
                let (used, total) = (system.used_memory(), system.total_memory());
                if total > 0 {
                    into.push(("system_memory_usage_megabytes".into(), used as f64 / 1e6));
                    into.push((
                        "system_memory_usage_percentage".into(),
                        used as f64 / total as f64 * 100.0,
                    ));
                }
            }
            disk(into);
        }

        fn network(&mut self) -> Option<NetworkTotals> {
            let networks = self.networks.as_mut()?;
            // Interfaces that come and go are listed again, as `psutil` does on each call.
            networks.refresh(true);
            let mut totals = NetworkTotals {
                received: 0,
                transmitted: 0,
            };
            for data in networks.values() {
                totals.received = totals.received.saturating_add(data.total_received());
                totals.transmitted = totals.transmitted.saturating_add(data.total_transmitted());
            }
            Some(totals)
        }
    }

    /// `psutil.disk_usage("/")`: used = total - free (root's free), available = what a user
    /// may still write, and the percentage of used over used + available, rounded to one
    /// decimal; reserved blocks count as neither.
    #[cfg(unix)]
    fn disk(into: &mut Vec<(String, f64)>) {
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
        // SAFETY: the path is a NUL-terminated string, and `st` is writable memory of the
        // right type, which `statvfs` fills when it returns 0.
        let rc = unsafe { libc::statvfs(c"/".as_ptr(), st.as_mut_ptr()) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            warn_once(&format!(
                "system metrics: no disk figures: statvfs(\"/\"): {e}"
            ));
            return;
        }
        // SAFETY: `statvfs` returned 0, so it filled the struct.
        let st = unsafe { st.assume_init() };
        let frsize = st.f_frsize as f64;
        let total = st.f_blocks as f64 * frsize;
        let used = total - st.f_bfree as f64 * frsize;
        let available = st.f_bavail as f64 * frsize;
        let percent = if used + available > 0.0 {
            crate::monitor::window::round1(used / (used + available) * 100.0)
        } else {
            0.0
        };
        into.push(("disk_usage_percentage".into(), percent));
        into.push(("disk_usage_megabytes".into(), used / 1e6));
        into.push(("disk_available_megabytes".into(), available / 1e6));
    }

    #[cfg(not(unix))]
    fn disk(_into: &mut Vec<(String, f64)>) {
        warn_once("system metrics: no disk figures on this platform");
    }
}

#[cfg(all(test, feature = "system-metrics"))]
mod tests {
    use super::*;

    #[test]
    fn this_machine_gives_pythons_keys_with_plausible_values() {
        let mut host = host::Host::new();
        let mut values = Vec::new();
        host.sample(&mut values);
        let get = |key: &str| {
            values
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("no {key} in {values:?}"))
        };
        for key in [
            "cpu_utilization_percentage",
            "system_memory_usage_percentage",
            "disk_usage_percentage",
        ] {
            assert!((0.0..=100.0).contains(&get(key)), "{key}: {values:?}");
        }
        assert!(get("system_memory_usage_megabytes") > 0.0);
        assert!(get("disk_usage_megabytes") > 0.0);
        assert!(get("disk_available_megabytes") >= 0.0);
        let network = host.network().expect("network counters");
        let later = host.network().expect("network counters");
        assert!(later.received >= network.received && later.transmitted >= network.transmitted);
    }
}
