//! Grouped writes: concurrent single writes coalesced into one durable round trip.
//!
//! A durable write pays a flush (PostgreSQL's WAL flush, Redis's AOF fsync) and a round trip.
//! Here a write joins a queue instead; a flusher takes everything that queued while earlier
//! groups were being written (up to `max_items`, and what [`GroupWrite::admit`] lets in) and
//! hands it to [`GroupWrite::write`] as one group. Each caller is answered only after its group
//! is written, so an answer still means written. A lone write goes out at once, with only the
//! groups already in flight to queue behind, unless [`GroupSettings::gather`] asks a group
//! smaller than the last to wait a moment for company.
//!
//! Used by the PostgreSQL group commit, the Redis dead-letter enqueue and the catalog's
//! background search audits: one flusher for all three. It knows nothing of the service, so it
//! is a crate of its own beside the hexagon, not a part of any layer.

use std::sync::{Arc, OnceLock};

use tokio::sync::{Semaphore, mpsc, oneshot};

/// A store that can write a group of items at once.
pub trait GroupWrite: Send + Sync + 'static {
    type Item: Send + 'static;
    type Answer: Send + 'static;
    /// What a group being formed remembers to decide whether another item may join it.
    type Membership: Default + Send;

    /// Whether `item` may join the group `membership` describes (and records it if so). Must
    /// admit any item into an empty group; a refused item starts the next group.
    fn admit(membership: &mut Self::Membership, item: &Self::Item) -> bool;

    /// Writes `group`: one answer per item, in the group's order.
    fn write(
        &self,
        group: Vec<Self::Item>,
    ) -> impl std::future::Future<Output = Vec<Self::Answer>> + Send;
}

/// How writes are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSettings {
    /// Most items one group holds.
    pub max_items: usize,
    /// Groups being written at once.
    pub max_in_flight: usize,
    /// When set, a group smaller than the one before it waits up to this long for as many
    /// items. Callers in a closed loop are answered together and come back spread over the
    /// time they take to turn around: without the wait, the first few back would go alone
    /// and split the rest into small groups that each pay a flush.
    pub gather: Option<std::time::Duration>,
}

/// The flusher stopped (its runtime is shutting down); the write's fate is unknown to it.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the group writer stopped")]
pub struct GroupWriterStopped;

struct Pending<W: GroupWrite> {
    item: W::Item,
    reply: oneshot::Sender<W::Answer>,
}

/// The queue in front of a [`GroupWrite`]. The flusher task starts with the first write
/// (inside the runtime) and ends when this is dropped.
pub struct Grouped<W: GroupWrite> {
    store: Arc<W>,
    settings: GroupSettings,
    queue: OnceLock<mpsc::Sender<Pending<W>>>,
}

impl<W: GroupWrite> Grouped<W> {
    pub fn new(store: W, settings: GroupSettings) -> Self {
        Self {
            store: Arc::new(store),
            settings: GroupSettings {
                max_items: settings.max_items.max(1),
                max_in_flight: settings.max_in_flight.max(1),
                gather: settings.gather,
            },
            queue: OnceLock::new(),
        }
    }

    /// The store the groups are written to.
    pub fn store(&self) -> &W {
        &self.store
    }

    /// Writes `item` in the next group; returns its answer once that group is written.
    ///
    /// # Errors
    /// [`GroupWriterStopped`] when the flusher ended before answering.
    pub async fn write(&self, item: W::Item) -> Result<W::Answer, GroupWriterStopped> {
        let queue = self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(self.settings.max_items * 4);
            tokio::spawn(flush_groups(self.store.clone(), receiver, self.settings));
            sender
        });
        let (reply, answer) = oneshot::channel();
        queue
            .send(Pending { item, reply })
            .await
            .map_err(|_| GroupWriterStopped)?;
        answer.await.map_err(|_| GroupWriterStopped)
    }
}

/// Takes groups off the queue while fewer than `max_in_flight` are being written.
async fn flush_groups<W: GroupWrite>(
    store: Arc<W>,
    mut queue: mpsc::Receiver<Pending<W>>,
    settings: GroupSettings,
) {
    let in_flight = Arc::new(Semaphore::new(settings.max_in_flight));
    let mut held_back: Option<Pending<W>> = None;
    let mut last_size = 0;
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let first = match held_back.take() {
            Some(p) => p,
            None => match queue.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut membership = W::Membership::default();
        W::admit(&mut membership, &first.item);
        let mut group = vec![first];
        while group.len() < settings.max_items {
            let Ok(next) = queue.try_recv() else { break };
            if !W::admit(&mut membership, &next.item) {
                held_back = Some(next);
                break;
            }
            group.push(next);
        }
        if let Some(wait) = settings.gather.filter(|_| held_back.is_none()) {
            let deadline = tokio::time::Instant::now() + wait;
            // A group never holds more than max_items, so neither does the last one.
            while group.len() < last_size {
                let Ok(Some(next)) = tokio::time::timeout_at(deadline, queue.recv()).await else {
                    break;
                };
                if !W::admit(&mut membership, &next.item) {
                    held_back = Some(next);
                    break;
                }
                group.push(next);
            }
        }
        last_size = group.len();
        let store = store.clone();
        tokio::spawn(async move {
            let (items, replies): (Vec<W::Item>, Vec<_>) =
                group.into_iter().map(|p| (p.item, p.reply)).unzip();
            let answers = store.write(items).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Mutex;

    /// Records each group it is given and answers each item with (group number, item).
    #[derive(Default)]
    struct Recorder {
        groups: Mutex<Vec<Vec<u32>>>,
        /// Held until the test lets the first group finish.
        gate: tokio::sync::Mutex<()>,
    }

    impl GroupWrite for Recorder {
        type Item = u32;
        type Answer = (usize, u32);
        type Membership = HashSet<u32>;

        fn admit(seen: &mut HashSet<u32>, item: &u32) -> bool {
            seen.insert(*item)
        }

        async fn write(&self, group: Vec<u32>) -> Vec<(usize, u32)> {
            let number = {
                let mut groups = self.groups.lock().unwrap();
                groups.push(group.clone());
                groups.len() - 1
            };
            let _open = self.gate.lock().await;
            group.into_iter().map(|i| (number, i)).collect()
        }
    }

    #[tokio::test]
    async fn writes_queued_behind_a_group_in_flight_share_the_next_group_and_each_get_their_answer()
    {
        let grouped = Arc::new(Grouped::new(
            Recorder::default(),
            GroupSettings {
                max_items: 3,
                max_in_flight: 1,
                gather: None,
            },
        ));
        // Hold the first group in its write so that the others queue behind it.
        let gate = grouped.store().gate.lock().await;
        let first = tokio::spawn({
            let g = grouped.clone();
            async move { g.write(0).await }
        });
        while grouped.store().groups.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let mut rest = Vec::new();
        for item in [1, 2, 2, 3, 4] {
            let g = grouped.clone();
            rest.push(tokio::spawn(async move { g.write(item).await }));
            // Queue them in this order.
            queued(&grouped, rest.len()).await;
        }
        drop(gate);

        assert_eq!(first.await.unwrap().unwrap(), (0, 0));
        let mut answers = Vec::new();
        for r in rest {
            answers.push(r.await.unwrap().unwrap());
        }
        // A repeated item starts the next group; a group never exceeds max_items.
        assert_eq!(
            *grouped.store().groups.lock().unwrap(),
            vec![vec![0], vec![1, 2], vec![2, 3, 4]]
        );
        assert_eq!(answers, vec![(1, 1), (1, 2), (2, 2), (2, 3), (2, 4)]);
    }

    /// Waits until `grouped`'s queue holds `n` writes not yet taken into a group.
    async fn queued<W: GroupWrite>(grouped: &Grouped<W>, n: usize) {
        let queue = grouped.queue.get().unwrap();
        while queue.max_capacity() - queue.capacity() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn with_gather_a_group_smaller_than_the_last_waits_for_as_many_or_until_the_wait_ends() {
        let grouped = Arc::new(Grouped::new(
            Recorder::default(),
            GroupSettings {
                max_items: 8,
                max_in_flight: 1,
                gather: Some(std::time::Duration::from_millis(10)),
            },
        ));
        let write = |item| {
            let g = grouped.clone();
            tokio::spawn(async move { g.write(item).await })
        };
        let groups = || grouped.store().groups.lock().unwrap().clone();
        // A group of three: 0 goes alone while 1, 2 and 3 queue behind it.
        let gate = grouped.store().gate.lock().await;
        let first = write(0);
        while groups().is_empty() {
            tokio::task::yield_now().await;
        }
        let three: Vec<_> = (1..=3).map(write).collect();
        queued(&grouped, 3).await;
        drop(gate);
        first.await.unwrap().unwrap();
        for w in three {
            w.await.unwrap().unwrap();
        }
        assert_eq!(groups(), vec![vec![0], vec![1, 2, 3]]);

        // 4 arrives alone and waits for two more instead of going out by itself (the clock is
        // paused: the wait cannot end while this task keeps the runtime busy).
        let lone = write(4);
        for _ in 0..1000 {
            tokio::task::yield_now().await;
        }
        assert_eq!(groups().len(), 2, "4 went out alone");
        let (five, six) = (write(5), write(6));
        for w in [lone, five, six] {
            w.await.unwrap().unwrap();
        }
        assert_eq!(groups()[2], vec![4, 5, 6]);

        // 7 waits for company that never comes, then goes alone when the wait ends.
        assert_eq!(write(7).await.unwrap().unwrap(), (3, 7));
        assert_eq!(groups()[3], vec![7]);
    }
}
