//! What an impaired lane keeps of a packet: its bytes, offload info and comment in a buffer
//! that is reused ([`Buffer`]), the packet as offered ([`Packet`]), and the packets that wait,
//! ordered by the time they may leave ([`Held`]) or held back behind later ones ([`HeldBack`]).

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

use tokio::time::Instant;

use crate::device::offload::PacketInfo;

/// A packet's bytes and the comment it travels with, in buffers that are reused.
#[derive(Debug, Default)]
pub(super) struct Buffer {
    pub(super) data: Vec<u8>,
    /// What the device said, or is to be told, about it (offloads).
    pub(super) info: PacketInfo,
    pub(super) comment: String,
    pub(super) has_comment: bool,
}

impl Buffer {
    /// Adds a note to the comment, after the stack's own (captures below show it).
    pub(super) fn note(&mut self, note: fmt::Arguments<'_>) {
        if self.has_comment {
            self.comment.push_str("; ");
        }
        // Writing into a String cannot fail.
        let _ = self.comment.write_fmt(note);
        self.has_comment = true;
    }
}

/// A packet offered to the lane: its bytes, what the device says of it, and its comment.
#[derive(Debug, Clone, Copy)]
pub(super) struct Packet<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) info: &'a PacketInfo,
    pub(super) comment: Option<&'a str>,
}

/// A packet waiting in the lane until `at`.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) at: Instant,
    /// Breaks ties between packets due at the same time: lower goes first.
    pub(super) order: i64,
    pub(super) buffer: Buffer,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// A packet held back until `remaining` later packets have been scheduled, or until `deadline`.
#[derive(Debug)]
pub(super) struct HeldBack {
    pub(super) remaining: u32,
    /// When it would have left had it not been held back.
    pub(super) at: Instant,
    pub(super) deadline: Instant,
    pub(super) buffer: Buffer,
}
