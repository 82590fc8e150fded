//! From key layout v1 (`<prefix>:v1:dlq:audit` and `...:dead`, no hash tag: on a Redis
//! Cluster the two streams were in different slots) to v2 (both under `{<prefix>:dlq}`).
//!
//! At start, every entry still in a v1 stream, pending ones included (an entry stays in the
//! stream until it is replayed), is added to its v2 stream and then deleted from v1, a chunk
//! at a time. The add comes first: a crash between the two leaves an entry in both, which
//! replay stores once (by event id), so nothing is lost and nothing is stored twice. On a
//! single server a chunk moves in one `MULTI`. The v1 consumer group's bookkeeping is left
//! behind: a moved entry is delivered afresh from v2.

use redis::streams::StreamRangeReply;

use super::{Keys, entries, unavailable};
use crate::connection::RedisConn;
use datastorage_application::ports::QueueError;

/// Entries moved per round trip.
const CHUNK: usize = 500;

/// Moves what the v1 layout under `prefix` still holds into `v2`; how many entries moved.
pub(super) async fn from_v1(
    conn: &mut RedisConn,
    prefix: &str,
    v2: &Keys,
) -> Result<u64, QueueError> {
    let old = format!("{prefix}:v1:dlq:audit");
    let mut moved = move_stream(conn, &old, &v2.stream).await?;
    moved += move_stream(conn, &format!("{old}:dead"), &v2.dead).await?;
    if moved > 0 {
        tracing::info!(
            moved,
            from = %old,
            to = %v2.stream,
            "moved dead-letter entries from key layout v1 to v2"
        );
    }
    Ok(moved)
}

async fn move_stream(conn: &mut RedisConn, from: &str, to: &str) -> Result<u64, QueueError> {
    let mut moved = 0u64;
    loop {
        let chunk: StreamRangeReply = redis::cmd("XRANGE")
            .arg(from)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(CHUNK)
            .query_async(conn)
            .await
            .map_err(unavailable)?;
        if chunk.ids.is_empty() {
            return Ok(moved);
        }
        let mut add = redis::pipe();
        for entry in &chunk.ids {
            let cmd = add.cmd("XADD").arg(to).arg("*");
            for (name, value) in &entry.map {
                cmd.arg(name.as_str())
                    .arg(entries::bytes(value).unwrap_or_default());
            }
            cmd.ignore();
        }
        let ids: Vec<&str> = chunk.ids.iter().map(|e| e.id.as_str()).collect();
        let mut delete = redis::pipe();
        delete.cmd("XDEL").arg(from).arg(&ids).ignore();
        if conn.is_cluster() {
            // The v1 stream is in another slot: two calls, the add first.
            add.atomic();
            let _: () = add.query_async(conn).await.map_err(unavailable)?;
            let _: () = delete.query_async(conn).await.map_err(unavailable)?;
        } else {
            add.atomic();
            add.cmd("XDEL").arg(from).arg(&ids).ignore();
            let _: () = add.query_async(conn).await.map_err(unavailable)?;
        }
        moved += ids.len() as u64;
    }
}
