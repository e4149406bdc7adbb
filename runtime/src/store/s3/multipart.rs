//! Moving large objects in parts, as boto3's transfer manager does for the Python client
//! (`s3transfer`: files of 8 MiB or more in 8 MiB parts, 10 at a time): uploads read one
//! part at a time from disk and keep a bounded number under way, so a 2 GB file never holds
//! more than `CONCURRENCY` parts in memory; a failed upload is aborted, so that S3 keeps no
//! parts and no object appears. Downloads fetch byte ranges in parallel and write them in
//! order. Each request is retried by `object_store` (`MLFLOW_HTTP_REQUEST_MAX_RETRIES`).

use std::path::Path;

use futures_util::stream::StreamExt;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Location;
use crate::base::error::{Error, Result, warn};

/// Files from this size up go in parts (s3transfer's `multipart_threshold`).
pub(super) const THRESHOLD: u64 = 8 * 1024 * 1024;
/// Parts under way at once (s3transfer's `max_concurrency`).
const CONCURRENCY: usize = 10;
/// S3 refuses more parts than this in one upload.
const MAX_PARTS: u64 = 10_000;

/// The part size for a file of `size` bytes: 8 MiB, or more when 10,000 parts would not
/// hold the file.
fn part_size(size: u64) -> u64 {
    THRESHOLD.max(size.div_ceil(MAX_PARTS))
}

/// Uploads `file` (`size` bytes) to `at`: in one request below [`THRESHOLD`], in parts
/// above it.
pub(super) async fn upload(
    client: &dyn ObjectStore,
    at: &Location,
    file: &Path,
    size: u64,
) -> Result<()> {
    let io = |e| Error::io("artifact to upload", file, e);
    if size < THRESHOLD {
        let bytes = tokio::fs::read(file).await.map_err(io)?;
        client
            .put(&at.key, PutPayload::from(bytes))
            .await
            .map_err(|e| at.error(e))?;
        return Ok(());
    }
    let mut upload = client
        .put_multipart(&at.key)
        .await
        .map_err(|e| at.error(e))?;
    let sent = match send_parts(upload.as_mut(), at, file, size).await {
        Ok(()) => upload.complete().await.map(drop).map_err(|e| at.error(e)),
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        // Parts already stored cost money and never become an object: S3 drops them.
        if let Err(abort) = upload.abort().await {
            warn(&format!(
                "could not abort the failed upload of {}: {}",
                at.uri(),
                at.error(abort)
            ));
        }
        return Err(e);
    }
    Ok(())
}

async fn send_parts(
    upload: &mut dyn MultipartUpload,
    at: &Location,
    file: &Path,
    size: u64,
) -> Result<()> {
    let io = |e| Error::io("artifact to upload", file, e);
    let part = part_size(size);
    let mut reader = tokio::fs::File::open(file).await.map_err(io)?;
    // Each part on a task of its own, so that parts keep moving while the next one is read
    // from disk (a future only polled here would stall during the read); dropping the set
    // on an error cancels the parts still under way before the upload is aborted.
    let mut under_way = tokio::task::JoinSet::new();
    let mut offset = 0;
    while offset < size {
        let len = part.min(size - offset);
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        reader.read_exact(&mut buf).await.map_err(io)?;
        while under_way.len() >= CONCURRENCY {
            if let Some(done) = under_way.join_next().await {
                part_result(done, at)?;
            }
        }
        // Parts are numbered in the order put_part is called: reading in order keeps them so.
        under_way.spawn(upload.put_part(PutPayload::from(buf)));
        offset += len;
    }
    while let Some(done) = under_way.join_next().await {
        part_result(done, at)?;
    }
    Ok(())
}

fn part_result(
    done: std::result::Result<object_store::Result<()>, tokio::task::JoinError>,
    at: &Location,
) -> Result<()> {
    match done {
        Ok(sent) => sent.map_err(|e| at.error(e)),
        Err(e) => Err(Error::Internal(format!(
            "a part of the upload of {} stopped: {e}",
            at.uri()
        ))),
    }
}

/// Downloads `at` to `dest`: one streamed request for a small object, byte ranges fetched
/// [`CONCURRENCY`] at a time and written in order for a large one. A failed download
/// leaves no partial file behind.
pub(super) async fn download(client: &dyn ObjectStore, at: &Location, dest: &Path) -> Result<()> {
    let written = write_to(client, at, dest).await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(dest).await;
    }
    written
}

async fn write_to(client: &dyn ObjectStore, at: &Location, dest: &Path) -> Result<()> {
    let io = |e| Error::io("download destination", dest, e);
    let size = client.head(&at.key).await.map_err(|e| at.error(e))?.size;
    // Gathered before writing: the stream's chunks are a few KiB, each write to a tokio file
    // a trip to the blocking pool (the ranges of 8 MiB go through unbuffered).
    let mut out = tokio::io::BufWriter::with_capacity(
        4 * 1024 * 1024,
        tokio::fs::File::create(dest).await.map_err(io)?,
    );
    if size <= THRESHOLD {
        let mut stream = client
            .get(&at.key)
            .await
            .map_err(|e| at.error(e))?
            .into_stream();
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk.map_err(|e| at.error(e))?)
                .await
                .map_err(io)?;
        }
    } else {
        let part = part_size(size);
        let ranges = (0..size.div_ceil(part)).map(|i| i * part..((i + 1) * part).min(size));
        // `buffered` fetches several ranges at once and yields them in order.
        let mut parts = futures_util::stream::iter(ranges)
            .map(|range| client.get_range(&at.key, range))
            .buffered(CONCURRENCY);
        while let Some(bytes) = parts.next().await {
            out.write_all(&bytes.map_err(|e| at.error(e))?)
                .await
                .map_err(io)?;
        }
    }
    out.flush().await.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_fit_within_s3_limits() {
        assert_eq!(part_size(1), THRESHOLD);
        assert_eq!(part_size(2 << 30), THRESHOLD);
        let huge = 200u64 << 30;
        assert!(part_size(huge) * MAX_PARTS >= huge);
    }
}
