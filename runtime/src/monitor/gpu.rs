//! NVIDIA GPUs: what one device reads, the keys Python's `GPUMonitor` logs for it, and (with
//! the `gpu` feature) NVML as the source, loaded at run time.

use super::readings::ReadingSource;

/// One device at one moment; `None` where the driver could not say.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct GpuSample {
    /// Bytes used and in total.
    pub(crate) memory: Option<(u64, u64)>,
    /// Percent of time a kernel ran over the driver's last sample period.
    pub(crate) utilization: Option<u32>,
    /// Milliwatts drawn and the enforced limit in milliwatts.
    pub(crate) power: Option<(u32, u32)>,
}

/// The devices of one machine.
pub(crate) trait GpuDevices: Send {
    fn count(&mut self) -> usize;
    /// Device `index`, or why it could not be read at all.
    fn read(&mut self, index: usize) -> Result<GpuSample, String>;
}

/// GPU keys for each device, as Python names and computes them.
pub(crate) struct GpuSource<D>(pub(crate) D);

impl<D: GpuDevices> ReadingSource for GpuSource<D> {
    fn sample(&mut self, into: &mut Vec<(String, f64)>) {
        for i in 0..self.0.count() {
            match self.0.read(i) {
                Ok(sample) => gpu_values(i, &sample, into),
                Err(e) => super::settings::warn_once(&format!("system metrics: GPU {i}: {e}")),
            }
        }
    }
}

/// Python's `GPUMonitor.collect_metrics` for device `i`: the memory percentage is rounded
/// per sample (then averaged and rounded again with the others), the rest is raw.
pub(crate) fn gpu_values(i: usize, sample: &GpuSample, into: &mut Vec<(String, f64)>) {
    if let Some((used, total)) = sample.memory
        && total > 0
    {
        into.push((
            format!("gpu_{i}_memory_usage_percentage"),
            super::window::round1(used as f64 / total as f64 * 100.0),
        ));
        into.push((format!("gpu_{i}_memory_usage_megabytes"), used as f64 / 1e6));
    }
    if let Some(utilization) = sample.utilization {
        into.push((
            format!("gpu_{i}_utilization_percentage"),
            f64::from(utilization),
        ));
    }
    if let Some((milliwatts, limit)) = sample.power
        && limit > 0
    {
        into.push((
            format!("gpu_{i}_power_usage_watts"),
            f64::from(milliwatts) / 1000.0,
        ));
        into.push((
            format!("gpu_{i}_power_usage_percentage"),
            f64::from(milliwatts) / f64::from(limit) * 100.0,
        ));
    }
}

/// NVML's devices, when the feature is on and the driver's library loads; otherwise
/// nothing, and no error: a machine without a GPU has no GPU keys.
pub(crate) fn nvidia() -> Option<Box<dyn ReadingSource>> {
    #[cfg(feature = "gpu")]
    {
        match nvml::Nvidia::init() {
            Ok(devices) => return Some(Box::new(GpuSource(devices))),
            Err(e) => tracing::debug!("mlflow: no NVIDIA GPU metrics: {e}"),
        }
    }
    None
}

#[cfg(feature = "gpu")]
mod nvml {
    use nvml_wrapper::Nvml;

    use super::{GpuDevices, GpuSample};
    use crate::monitor::settings::warn_once;

    /// NVML, whose `libnvidia-ml` was found and loaded at run time.
    pub(super) struct Nvidia {
        nvml: Nvml,
        count: usize,
    }

    impl Nvidia {
        pub(super) fn init() -> Result<Nvidia, nvml_wrapper::error::NvmlError> {
            let nvml = Nvml::init()?;
            let count = nvml.device_count()? as usize;
            Ok(Nvidia { nvml, count })
        }
    }

    impl GpuDevices for Nvidia {
        fn count(&mut self) -> usize {
            self.count
        }

        fn read(&mut self, index: usize) -> Result<GpuSample, String> {
            let index = u32::try_from(index).map_err(|e| e.to_string())?;
            let device = self
                .nvml
                .device_by_index(index)
                .map_err(|e| e.to_string())?;
            // Each group is skipped on its own when the driver refuses it, as in Python.
            let group = |name: &str, e: nvml_wrapper::error::NvmlError| {
                warn_once(&format!("system metrics: GPU {index} {name}: {e}"));
            };
            let memory = device
                .memory_info()
                .map(|m| (m.used, m.total))
                .map_err(|e| group("memory", e))
                .ok();
            let utilization = device
                .utilization_rates()
                .map(|u| u.gpu)
                .map_err(|e| group("utilization", e))
                .ok();
            let power = device
                .power_usage()
                .and_then(|mw| device.enforced_power_limit().map(|limit| (mw, limit)))
                .map_err(|e| group("power", e))
                .ok();
            Ok(GpuSample {
                memory,
                utilization,
                power,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two devices; the second one's power cannot be read.
    struct Fake;

    impl GpuDevices for Fake {
        fn count(&mut self) -> usize {
            2
        }

        fn read(&mut self, index: usize) -> Result<GpuSample, String> {
            Ok(match index {
                0 => GpuSample {
                    memory: Some((4_000_000_000, 16_000_000_000)),
                    utilization: Some(87),
                    power: Some((150_000, 300_000)),
                },
                _ => GpuSample {
                    memory: Some((1_234_567_890, 3_000_000_000)),
                    utilization: Some(5),
                    power: None,
                },
            })
        }
    }

    #[test]
    fn keys_and_units_are_pythons() {
        let mut values = Vec::new();
        GpuSource(Fake).sample(&mut values);
        let expected: Vec<(String, f64)> = [
            ("gpu_0_memory_usage_percentage", 25.0),
            ("gpu_0_memory_usage_megabytes", 4000.0),
            ("gpu_0_utilization_percentage", 87.0),
            ("gpu_0_power_usage_watts", 150.0),
            ("gpu_0_power_usage_percentage", 50.0),
            ("gpu_1_memory_usage_percentage", 41.2),
            ("gpu_1_memory_usage_megabytes", 1234.56789),
            ("gpu_1_utilization_percentage", 5.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn an_unreadable_device_has_no_keys() {
        struct Broken;
        impl GpuDevices for Broken {
            fn count(&mut self) -> usize {
                1
            }
            fn read(&mut self, _: usize) -> Result<GpuSample, String> {
                Err("gone".into())
            }
        }
        let mut values = Vec::new();
        GpuSource(Broken).sample(&mut values);
        assert!(values.is_empty());
    }
}
