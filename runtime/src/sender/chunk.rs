//! Queued commands as the sender takes them: a chunk at a time, cut into segments at the
//! commands that must keep their place.
//!
//! A segment (`segment.rs`) holds starts, logs and ends of any runs; it ends before a flush,
//! a call, a reported failure, or a second command for a run that already ended in it.
//! Within a segment each run goes at its own pace, since each run's own commands keep their
//! order.

use std::collections::VecDeque;

use super::command::{BoxFuture, Command, OpenedStore};
use super::segment::Segment;
use crate::base::error::Error;

/// How many queued commands are taken at once before the store is called.
pub(super) const MAX_CHUNK: usize = 4096;

/// Commands taken from the queue and not handled yet, in queue order.
pub(super) struct Chunk {
    commands: VecDeque<Command>,
}

/// What comes next in a chunk.
pub(super) enum Next {
    /// A command that must keep its place: everything before it is handled first.
    Barrier(Barrier),
    /// Starts, logs and ends.
    Segment(Box<Segment>),
}

/// A command that must keep its place.
pub(super) enum Barrier {
    /// A failure found on the caller's side, kept for the next flush.
    Failed(Error),
    /// Store everything pending, then answer with the failures since the last flush.
    Flush(flume::Sender<Vec<Error>>),
    /// Store everything pending, then run this.
    Call(Box<dyn FnOnce(OpenedStore) -> BoxFuture<()> + Send>),
}

impl Chunk {
    /// A chunk starting with `first`, with whatever else is queued (up to [`MAX_CHUNK`]).
    pub(super) fn new(first: Command, queue: &flume::Receiver<Command>) -> Chunk {
        let mut chunk = Chunk {
            commands: VecDeque::from([first]),
        };
        chunk.refill(queue);
        chunk
    }

    /// Takes what is queued now, up to [`MAX_CHUNK`] commands in the chunk; true when
    /// anything was.
    pub(super) fn refill(&mut self, queue: &flume::Receiver<Command>) -> bool {
        let before = self.commands.len();
        while self.commands.len() < MAX_CHUNK {
            match queue.try_recv() {
                Ok(cmd) => self.commands.push_back(cmd),
                Err(_) => break,
            }
        }
        self.commands.len() > before
    }

    pub(super) fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Appends a command taken from the queue.
    pub(super) fn push(&mut self, cmd: Command) {
        self.commands.push_back(cmd);
    }

    /// The next command, if `admit` takes it.
    pub(super) fn next_if(&mut self, admit: impl FnOnce(&Command) -> bool) -> Option<Command> {
        match self.commands.front() {
            Some(cmd) if admit(cmd) => self.commands.pop_front(),
            _ => None,
        }
    }

    /// The next barrier or segment.
    pub(super) fn next(&mut self) -> Option<Next> {
        let barrier = match self.commands.pop_front()? {
            Command::Failed(e) => Barrier::Failed(e),
            Command::Flush(reply) => Barrier::Flush(reply),
            Command::Call(call) => Barrier::Call(call),
            first => return Some(Next::Segment(Box::new(Segment::new(first, self)))),
        };
        Some(Next::Barrier(barrier))
    }
}
