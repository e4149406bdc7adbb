//! Replaying a spill file by hand (the sender replays its own by itself).

use std::collections::HashMap;
use std::path::Path;

use crate::base::error::Result;
use crate::sender::spill::{ReplayReport, read_spill, replay_ops, rewrite};
use crate::tracker;

/// Replays a spill file (see the [`spill`](crate::spill) module docs) into the store of the tracking URI in
/// effect, after everything queued before. Lines delivered are removed from the file, and
/// the file once empty; lines the store refused are reported and dropped; lines not
/// delivered because the store is still unreachable stay in the file.
pub fn replay_spill(path: impl AsRef<Path>) -> Result<ReplayReport> {
    let path = path.as_ref().to_path_buf();
    tracker::current().request(Box::new(move |ctx| {
        Box::pin(async move {
            let store = ctx.get()?.clone();
            let ops = read_spill(&path)?;
            let (report, remaining) = replay_ops(&store, &ops, &HashMap::new()).await;
            rewrite(&path, &remaining)?;
            Ok(report)
        })
    }))
}
