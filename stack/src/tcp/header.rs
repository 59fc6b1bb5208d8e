//! The TCP header ([RFC 9293 section 3.1]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |       |       |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           [Options]                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               :
//! :                             Data                              :
//! :                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The data offset counts 32-bit words, so the header is 20 to 60 bytes; the flags are described
//! in [`Flags`], the options in [`super::options`]. TCP has no length field: a segment is the
//! whole IP payload. The checksum covers a pseudo-header (addresses, protocol 6 and that
//! length), the header and the data.
//!
//! [RFC 9293 section 3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.1

use std::fmt;
use std::net::IpAddr;
#[cfg(test)]
use std::net::Ipv4Addr;

use super::flags::Flags;
use super::options::{
    aligned_timestamps, emit_aligned_timestamps, Options, SackBlocks, TcpOption, Timestamps,
    MAX_OPTIONS_LEN,
};
use super::seq::SeqNumber;
use crate::ip::checksum;
use crate::wire::{read_u16, read_u32, write_u16, write_u32, WireError};

/// Byte ranges of the TCP header fields.
mod field {
    use crate::wire::{Field, Rest};

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    /// Data offset (high 4 bits), reserved bits, then the flags.
    pub const OFF_FLAGS: Field = 12..14;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
    pub const OPTIONS: Rest = 20..;
}

/// The length of a TCP header without options.
pub const HEADER_LEN: usize = 20;

/// The IP protocol number of TCP, for the pseudo-header.
const PROTOCOL: u8 = 6;

/// A read-only or read-write view of a TCP segment in a byte buffer.
///
/// The buffer is the whole segment (the IP payload): TCP has no length field of its own.
/// Built with [`Packet::new_checked`], every accessor is safe to call.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. For building segments in a buffer known to be large
    /// enough; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that its lengths are consistent, so that no accessor panics.
    ///
    /// Checks that the fixed header fits (`Truncated`), that the data offset is at least 5
    /// words (`BadLength`) and that the header it describes fits (`Truncated`).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet { buffer };
        let len = packet.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let header_len = packet.header_len();
        if header_len < HEADER_LEN {
            return Err(WireError::BadLength);
        }
        if header_len > len {
            return Err(WireError::Truncated);
        }
        Ok(packet)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The sequence number of the first byte of the segment (of the SYN, if set).
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(read_u32(self.buffer.as_ref(), field::SEQ_NUM.start))
    }

    /// The acknowledgment number: meaningful only when ACK is set.
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(read_u32(self.buffer.as_ref(), field::ACK_NUM.start))
    }

    /// The header length in bytes (data offset × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::OFF_FLAGS.start] >> 4) * 4
    }

    /// The control bits; reserved bits are ignored, as RFC 9293 asks of receivers.
    pub fn flags(&self) -> Flags {
        Flags::from_bits_truncate(read_u16(self.buffer.as_ref(), field::OFF_FLAGS.start))
    }

    /// The window field as sent: not yet scaled by the peer's window scale.
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WINDOW.start)
    }

    /// The checksum field as sent.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The urgent pointer: meaningful only when URG is set.
    pub fn urgent_at(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// The options area (empty when the data offset is 5); see [`Options`] to read it.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS.start..self.header_len()]
    }

    /// The data after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// Whether the checksum over the pseudo-header and the whole segment is right.
    ///
    /// A segment longer than 65,535 bytes cannot be described by the pseudo-header and fails.
    pub fn verify_checksum(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) -> bool {
        let data = self.buffer.as_ref();
        let Ok(len) = u16::try_from(data.len()) else {
            return false;
        };
        let sum = checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, usize::from(len));
        checksum::finish(checksum::add(sum, data)) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, value);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, value: SeqNumber) {
        write_u32(self.buffer.as_mut(), field::SEQ_NUM.start, value.0);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, value: SeqNumber) {
        write_u32(self.buffer.as_mut(), field::ACK_NUM.start, value.0);
    }

    /// Sets the header length in bytes (a multiple of 4, 20 to 60), keeping the flags.
    pub fn set_header_len(&mut self, header_len: usize) {
        let byte = &mut self.buffer.as_mut()[field::OFF_FLAGS.start];
        *byte = ((header_len / 4) as u8) << 4 | (*byte & 0x0f);
    }

    /// Sets the control bits, keeping the data offset and clearing the reserved bits.
    pub fn set_flags(&mut self, flags: Flags) {
        let data_offset = read_u16(self.buffer.as_ref(), field::OFF_FLAGS.start) & 0xf000;
        write_u16(
            self.buffer.as_mut(),
            field::OFF_FLAGS.start,
            data_offset | flags.bits(),
        );
    }

    /// Clears `flags` and leaves every other bit of their 16-bit word as it is: the data
    /// offset, the other flags, and the reserved bits (zero in what we generate, but a copy of
    /// another header keeps them, as segmentation copies a super-packet's).
    pub fn clear_flags(&mut self, flags: Flags) {
        let word = read_u16(self.buffer.as_ref(), field::OFF_FLAGS.start);
        write_u16(
            self.buffer.as_mut(),
            field::OFF_FLAGS.start,
            word & !flags.bits(),
        );
    }

    /// Sets the window field (already scaled down by our window scale).
    pub fn set_window_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::WINDOW.start, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT.start, value);
    }

    /// The options area, writable; the header length must already be set.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let range = field::OPTIONS.start..self.header_len();
        &mut self.buffer.as_mut()[range]
    }

    /// The data after the header, writable; the header length must already be set.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }

    /// Leaves the checksum partial, for a device with checksum offload to complete
    /// ([`crate::device::offload::Checksum::Partial`]): the field holds the pseudo-header's
    /// sum, and the device adds the header and payload to it.
    pub fn fill_partial_checksum(&mut self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) {
        let len = self.buffer.as_ref().len();
        let sum = checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, len);
        // The folded sum, not its complement: what Linux leaves for a device (CHECKSUM_PARTIAL).
        self.set_checksum(!checksum::finish(sum));
    }

    /// Computes the checksum over the pseudo-header and the whole buffer, and stores it.
    ///
    /// The buffer must be exactly the segment, at most 65,535 bytes.
    pub fn fill_checksum(&mut self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let sum = checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, data.len());
        let sum = checksum::finish(checksum::add(sum, data));
        self.set_checksum(sum);
    }
}

/// A TCP header as plain values; the data stays in the buffer (`payload_len` says how much).
///
/// Options appear as fields: the ones this stack uses are read, the others skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgment number, as in the header: meaningful only when `flags` has ACK.
    pub ack: SeqNumber,
    /// Control bits.
    pub flags: Flags,
    /// The window field as in the header, not scaled.
    pub window: u16,
    /// Urgent pointer, as in the header.
    pub urgent: u16,
    /// Maximum Segment Size option.
    pub mss: Option<u16>,
    /// Window Scale option: the shift count as sent (the TCP layer clamps it to 14, RFC 7323).
    pub window_scale: Option<u8>,
    /// SACK-Permitted option.
    pub sack_permitted: bool,
    /// SACK option blocks (empty when absent).
    pub sack_blocks: SackBlocks,
    /// Timestamps option.
    pub timestamps: Option<Timestamps>,
    /// Length of the data after the header.
    pub payload_len: usize,
}

impl Repr {
    /// Reads the header of a checked segment, verifying its checksum, then its options.
    ///
    /// The checksum is checked first, so a corrupted segment reports `BadChecksum` rather than
    /// whatever its corrupted options look like. A repeated option overrides the earlier one.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) -> Result<Repr, WireError> {
        let (src, dst) = (src.into(), dst.into());
        if packet.buffer.as_ref().len() > usize::from(u16::MAX) {
            return Err(WireError::BadLength);
        }
        if !packet.verify_checksum(src, dst) {
            return Err(WireError::BadChecksum);
        }
        Self::parse_trusted(packet)
    }

    /// Like [`Repr::parse`] (or [`Repr::parse_trusted`], when `trusted`), for a segment whose
    /// data is not after the header in `packet` but in `data`: `packet` holds the header
    /// only, and the checksum covers both.
    pub fn parse_parts<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        data: &[u8],
        (src, dst): (IpAddr, IpAddr),
        trusted: bool,
    ) -> Result<Repr, WireError> {
        let head = packet.buffer.as_ref();
        let len = head.len() + data.len();
        if len > usize::from(u16::MAX) {
            return Err(WireError::BadLength);
        }
        if !trusted {
            let sum = checksum::pseudo_header_ip(src, dst, PROTOCOL, len);
            if checksum::finish(checksum::add_pieces(sum, &[head, data])) != 0 {
                return Err(WireError::BadChecksum);
            }
        }
        let mut repr = Self::parse_trusted(packet)?;
        repr.payload_len += data.len();
        Ok(repr)
    }

    /// Reads the header of a checked segment without verifying its checksum, for a segment
    /// whose device vouches for it ([`crate::device::PacketInfo::checksum_trusted`]); then its
    /// options.
    pub fn parse_trusted<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, WireError> {
        if packet.buffer.as_ref().len() > usize::from(u16::MAX) {
            return Err(WireError::BadLength);
        }
        let mut repr = Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq_number(),
            ack: packet.ack_number(),
            flags: packet.flags(),
            window: packet.window_len(),
            urgent: packet.urgent_at(),
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: SackBlocks::new(),
            timestamps: None,
            payload_len: packet.payload().len(),
        };
        let options = packet.options();
        if let Some(timestamps) = aligned_timestamps(options) {
            // The common case, read in one step.
            repr.timestamps = Some(timestamps);
            return Ok(repr);
        }
        for option in Options::new(options) {
            match option? {
                TcpOption::MaxSegmentSize(mss) => repr.mss = Some(mss),
                TcpOption::WindowScale(shift) => repr.window_scale = Some(shift),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::Sack(blocks) => repr.sack_blocks = blocks,
                TcpOption::Timestamps(ts) => repr.timestamps = Some(ts),
                TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
            }
        }
        Ok(repr)
    }

    /// The sequence space the segment occupies (SEG.LEN): its data, plus one each for SYN
    /// and FIN ([RFC 9293 section 3.4]).
    ///
    /// [RFC 9293 section 3.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.4
    pub fn segment_len(&self) -> usize {
        self.payload_len + usize::from(self.flags.syn()) + usize::from(self.flags.fin())
    }

    /// The header length [`Repr::emit`] writes: 20 bytes plus the options, a multiple of 4.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.fixed_options_len() + self.sack_option_len()
    }

    /// The whole segment's length: header plus payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// The option bytes other than SACK blocks (each piece padded to 4 bytes, see `emit`).
    fn fixed_options_len(&self) -> usize {
        let mss = if self.mss.is_some() { 4 } else { 0 };
        let ts_or_sack_ok = match (self.timestamps, self.sack_permitted) {
            (Some(_), _) => 12,
            (None, true) => 4,
            (None, false) => 0,
        };
        let ws = if self.window_scale.is_some() { 4 } else { 0 };
        mss + ts_or_sack_ok + ws
    }

    /// How many SACK blocks fit in the option space the other options leave.
    fn sack_blocks_sent(&self) -> usize {
        // NOP, NOP, kind and length take 4 bytes, then 8 per block.
        let room = MAX_OPTIONS_LEN - self.fixed_options_len();
        self.sack_blocks.len().min(room.saturating_sub(4) / 8)
    }

    fn sack_option_len(&self) -> usize {
        match self.sack_blocks_sent() {
            0 => 0,
            n => 4 + 8 * n,
        }
    }

    /// Writes the header and fills the checksum over the pseudo-header, header and payload.
    ///
    /// The caller has already written the payload at `buf[header_len()..buffer_len()]`; `buf`
    /// must hold [`Repr::buffer_len`] bytes (at most 65,535), and the bytes after are ignored.
    ///
    /// Options are laid out as Linux does, each piece padded with NOPs to a 4-byte boundary so
    /// the 32-bit fields inside stay aligned:
    ///
    /// ```text
    /// MSS                      2 4 [mss]
    /// SACK-Permitted + TS      4 2 8 10 [tsval] [tsecr]   (or 1 1 8 10 ... without SACK-Permitted)
    /// SACK-Permitted alone     1 1 4 2
    /// Window Scale             1 3 3 [shift]
    /// SACK blocks              1 1 5 [2+8n] [left right]...
    /// ```
    ///
    /// SACK blocks take the space that is left of the 40 option bytes: four blocks alone, three
    /// beside timestamps. Blocks that do not fit are left out from the end, so put the most
    /// important first (RFC 2018 section 4: the block with the latest segment).
    pub fn emit(&self, buf: &mut [u8], src: impl Into<IpAddr>, dst: impl Into<IpAddr>) {
        self.emit_header(buf).fill_checksum(src, dst);
    }

    /// Like [`Repr::emit`], but leaves the checksum partial for the device to complete
    /// ([`Packet::fill_partial_checksum`]): no pass over the payload.
    pub fn emit_partial(&self, buf: &mut [u8], src: impl Into<IpAddr>, dst: impl Into<IpAddr>) {
        self.emit_header(buf).fill_partial_checksum(src, dst);
    }

    /// Like [`Repr::emit`], with the data not after the header in `buf` but in `payload`,
    /// one piece after the other: the device sends them side by side (see `send_buffer.rs`).
    /// `buf` takes the header only ([`Repr::header_len`] bytes); the pieces hold
    /// [`Repr::payload_len`] bytes in all.
    pub fn emit_head<P: AsRef<[u8]>>(
        &self,
        buf: &mut [u8],
        payload: &[P],
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) {
        let header_len = self.header_len();
        self.emit_header_in(&mut buf[..header_len]).set_checksum(0);
        let len = header_len + payload.iter().map(|p| p.as_ref().len()).sum::<usize>();
        let sum = checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, len);
        // The header's length is a multiple of 4, so the payload's sum carries on from it.
        let sum = checksum::add_pieces(checksum::add(sum, &buf[..header_len]), payload);
        Packet::new_unchecked(&mut buf[..header_len]).set_checksum(checksum::finish(sum));
    }

    /// Like [`Repr::emit_partial`], with the data not in `buf` (see [`Repr::emit_head`]).
    pub fn emit_head_partial(
        &self,
        buf: &mut [u8],
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) {
        let mut packet = self.emit_header_in(&mut buf[..self.header_len()]);
        let sum = checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, self.buffer_len());
        packet.set_checksum(!checksum::finish(sum));
    }

    /// Writes the header's fields and options, not its checksum.
    fn emit_header<'a>(&self, buf: &'a mut [u8]) -> Packet<&'a mut [u8]> {
        self.emit_header_in(&mut buf[..self.buffer_len()])
    }

    /// Writes the header's fields and options into the start of `buf`, not its checksum.
    #[inline(always)]
    fn emit_header_in<'a>(&self, buf: &'a mut [u8]) -> Packet<&'a mut [u8]> {
        let header_len = self.header_len();
        let mut packet = Packet::new_unchecked(buf);
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq);
        packet.set_ack_number(self.ack);
        packet.set_header_len(header_len);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window);
        packet.set_urgent_at(self.urgent);
        self.emit_options(packet.options_mut());
        packet
    }

    fn emit_options(&self, buf: &mut [u8]) {
        if let (Some(ts), None, None, false) = (
            self.timestamps,
            self.mss,
            self.window_scale,
            self.sack_permitted,
        ) {
            if self.sack_blocks_sent() == 0 {
                // The options of nearly every segment, written in one step.
                emit_aligned_timestamps(buf, ts);
                return;
            }
        }
        let mut at = 0;
        let mut put = |option: TcpOption| at += option.emit(&mut buf[at..]);
        if let Some(mss) = self.mss {
            put(TcpOption::MaxSegmentSize(mss));
        }
        match (self.sack_permitted, self.timestamps) {
            (true, Some(ts)) => {
                put(TcpOption::SackPermitted);
                put(TcpOption::Timestamps(ts));
            }
            (false, Some(ts)) => {
                put(TcpOption::NoOperation);
                put(TcpOption::NoOperation);
                put(TcpOption::Timestamps(ts));
            }
            (true, None) => {
                put(TcpOption::NoOperation);
                put(TcpOption::NoOperation);
                put(TcpOption::SackPermitted);
            }
            (false, None) => {}
        }
        if let Some(shift) = self.window_scale {
            put(TcpOption::NoOperation);
            put(TcpOption::WindowScale(shift));
        }
        let mut blocks = self.sack_blocks;
        blocks.truncate(self.sack_blocks_sent());
        if !blocks.is_empty() {
            put(TcpOption::NoOperation);
            put(TcpOption::NoOperation);
            put(TcpOption::Sack(blocks));
        }
    }
}

/// One line for logs, e.g.
/// `TCP 54321 > 7 [SYN] seq=123 ack=0 win=64240 len=0 [mss=1460 ws=7 sackOK ts=1/0]`.
impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TCP {} > {} {} seq={} ack={} win={}",
            self.src_port, self.dst_port, self.flags, self.seq, self.ack, self.window
        )?;
        if self.flags.urg() {
            write!(f, " urg={}", self.urgent)?;
        }
        write!(f, " len={}", self.payload_len)?;
        // Options, space-separated inside brackets; nothing at all when there are none.
        let mut sep = " [";
        if let Some(mss) = self.mss {
            write!(f, "{sep}mss={mss}")?;
            sep = " ";
        }
        if let Some(shift) = self.window_scale {
            write!(f, "{sep}ws={shift}")?;
            sep = " ";
        }
        if self.sack_permitted {
            write!(f, "{sep}sackOK")?;
            sep = " ";
        }
        if let Some(ts) = self.timestamps {
            write!(f, "{sep}ts={}/{}", ts.value, ts.echo)?;
            sep = " ";
        }
        for (i, block) in self.sack_blocks.as_slice().iter().enumerate() {
            let lead = if i == 0 { "sack=" } else { "," };
            write!(f, "{sep}{lead}{block}")?;
            sep = "";
        }
        if sep != " [" {
            f.write_str("]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::options::SackBlock;
    use proptest::prelude::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    /// A SYN 10.77.0.1:54321 → 10.77.0.2:7 with the options Linux sends: MSS 1460,
    /// SACK-Permitted, Timestamps, Window Scale 7. Checksum computed for these addresses.
    const SYN: [u8; 40] = [
        0xd4, 0x31, 0x00, 0x07, 0x6b, 0x8b, 0x45, 0x67, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0x0f, 0xb8, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x3a, 0xde,
        0x68, 0xb1, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    /// The next segment of that connection: [PSH, ACK] carrying "hello\n", with timestamps.
    const DATA: [u8; 38] = [
        0xd4, 0x31, 0x00, 0x07, 0x6b, 0x8b, 0x45, 0x68, 0x9a, 0xcb, 0x04, 0x43, 0x80, 0x18, 0x01,
        0xf6, 0x7f, 0xb6, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x3a, 0xde, 0x69, 0x00, 0x07, 0x5b,
        0xcd, 0x15, b'h', b'e', b'l', b'l', b'o', b'\n',
    ];

    fn syn_repr() -> Repr {
        Repr {
            src_port: 54321,
            dst_port: 7,
            seq: SeqNumber(1_804_289_383),
            ack: SeqNumber(0),
            flags: Flags::SYN,
            window: 64240,
            urgent: 0,
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            sack_blocks: SackBlocks::new(),
            timestamps: Some(Timestamps {
                value: 987_654_321,
                echo: 0,
            }),
            payload_len: 0,
        }
    }

    fn bare_repr() -> Repr {
        Repr {
            mss: None,
            window_scale: None,
            sack_permitted: false,
            timestamps: None,
            ..syn_repr()
        }
    }

    /// Emits `repr` with `payload` after the header, as the output path does.
    fn emit_with(repr: &Repr, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0; repr.buffer_len()];
        buf[repr.header_len()..].copy_from_slice(payload);
        repr.emit(&mut buf, SRC, DST);
        buf
    }

    fn blocks(n: usize) -> SackBlocks {
        let mut blocks = SackBlocks::new();
        for i in 0..n as u32 {
            blocks.push(SackBlock {
                left: SeqNumber(1000 * (i + 1)),
                right: SeqNumber(1000 * (i + 1) + 500),
            });
        }
        blocks
    }

    #[test]
    fn parses_a_syn_with_all_options() {
        let packet = Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(packet.header_len(), 40);
        assert_eq!(packet.options().len(), 20);
        assert!(packet.payload().is_empty());
        assert_eq!(Repr::parse(&packet, SRC, DST), Ok(syn_repr()));
        assert_eq!(
            syn_repr().segment_len(),
            1,
            "a SYN takes one sequence number"
        );
    }

    #[test]
    fn emits_the_same_syn() {
        assert_eq!(syn_repr().header_len(), 40);
        assert_eq!(emit_with(&syn_repr(), &[]), SYN);
    }

    #[test]
    fn round_trips_a_data_segment() {
        let packet = Packet::new_checked(&DATA[..]).unwrap();
        let repr = Repr::parse(&packet, SRC, DST).unwrap();
        assert_eq!(repr.flags, Flags::PSH | Flags::ACK);
        assert_eq!(repr.ack, SeqNumber(2_596_996_163));
        assert_eq!(repr.window, 502);
        assert!(!repr.sack_permitted);
        assert_eq!(
            repr.timestamps,
            Some(Timestamps {
                value: 987_654_400,
                echo: 123_456_789
            })
        );
        assert_eq!((repr.payload_len, repr.segment_len()), (6, 6));
        assert_eq!(packet.payload(), b"hello\n");
        assert_eq!(emit_with(&repr, b"hello\n"), DATA);
    }

    #[test]
    fn rejects_a_bad_checksum() {
        let packet = Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(
            Repr::parse(&packet, SRC, Ipv4Addr::new(10, 77, 0, 3)),
            Err(WireError::BadChecksum),
            "the pseudo-header covers the addresses"
        );
        let mut bytes = DATA;
        bytes[37] ^= 0x01;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet, SRC, DST), Err(WireError::BadChecksum));
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut bytes = SYN;
        bytes[12] = 0x40; // data offset 4: shorter than the fixed header
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(WireError::BadLength)
        );
        bytes[12] = 0xb0; // data offset 11: 44 bytes, more than the 40 there are
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(WireError::Truncated)
        );
    }

    #[test]
    fn every_prefix_is_handled_without_panicking() {
        for len in 0..SYN.len() {
            let expected = Err(WireError::Truncated);
            assert_eq!(
                Packet::new_checked(&SYN[..len]).map(|_| ()),
                expected,
                "{len} bytes"
            );
        }
        for len in 0..DATA.len() {
            match Packet::new_checked(&DATA[..len]) {
                Err(err) => assert!(len < 32 && err == WireError::Truncated, "{len} bytes"),
                // The prefix drops payload bytes the checksum covered.
                Ok(p) => assert_eq!(Repr::parse(&p, SRC, DST), Err(WireError::BadChecksum)),
            }
        }
    }

    /// Replaces the options of a bare header with `options` and fixes the checksum.
    fn with_options(options: &[u8]) -> Vec<u8> {
        let mut buf = emit_with(&bare_repr(), &[]);
        buf.extend_from_slice(options);
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.set_header_len(HEADER_LEN + options.len());
        packet.fill_checksum(SRC, DST);
        buf
    }

    fn parse_options(options: &[u8]) -> Result<Repr, WireError> {
        let buf = with_options(options);
        Repr::parse(&Packet::new_checked(&buf[..])?, SRC, DST)
    }

    #[test]
    fn rejects_malformed_options() {
        let cases: [&[u8]; 6] = [
            &[2, 1, 0, 0],             // length below 2
            &[1, 1, 2, 8],             // length past the options area
            &[1, 1, 1, 3],             // no length byte
            &[2, 3, 5, 0],             // MSS with length 3
            &[1, 3, 4, 7],             // Window Scale with length 4
            &[1, 1, 8, 8, 0, 0, 0, 0], // Timestamps with length 8
        ];
        for options in cases {
            assert_eq!(
                parse_options(options),
                Err(WireError::BadOption),
                "{options:?}"
            );
        }
    }

    #[test]
    fn skips_unknown_options_and_reads_to_the_header_end() {
        // Kind 30 with 6 bytes of data, then MSS: 12 bytes, exactly filling the options area.
        let repr = parse_options(&[30, 8, 1, 2, 3, 4, 5, 6, 2, 4, 0x02, 0x18]).unwrap();
        assert_eq!(
            repr,
            Repr {
                mss: Some(536),
                ..bare_repr()
            }
        );
        // 40 option bytes: a Window Scale option whose last byte is the header's last byte.
        let mut options = [1u8; 40];
        options[37..].copy_from_slice(&[3, 3, 9]);
        let repr = parse_options(&options).unwrap();
        assert_eq!(repr.window_scale, Some(9));
        assert_eq!(repr.payload_len, 0);
        // After End of Option List comes padding, whatever it holds.
        let repr = parse_options(&[3, 3, 2, 0, 0xff, 0xff, 0xff, 0xff]).unwrap();
        assert_eq!(
            repr,
            Repr {
                window_scale: Some(2),
                ..bare_repr()
            }
        );
    }

    #[test]
    fn emits_and_parses_one_to_four_sack_blocks() {
        for n in 1..=4 {
            let repr = Repr {
                flags: Flags::ACK,
                sack_blocks: blocks(n),
                payload_len: 2,
                ..bare_repr()
            };
            let bytes = emit_with(&repr, b"xy");
            assert_eq!(repr.header_len(), 20 + 4 + 8 * n);
            assert_eq!(&bytes[20..24], &[1, 1, 5, 2 + 8 * n as u8]);
            let packet = Packet::new_checked(&bytes[..]).unwrap();
            assert_eq!(Repr::parse(&packet, SRC, DST), Ok(repr), "{n} blocks");
        }
    }

    #[test]
    fn sends_only_the_sack_blocks_that_fit() {
        let ts = Some(Timestamps { value: 1, echo: 2 });
        let repr = Repr {
            timestamps: ts,
            sack_blocks: blocks(4),
            ..bare_repr()
        };
        assert_eq!(repr.sack_blocks_sent(), 3);
        assert_eq!(repr.header_len(), 60);
        let everything = Repr {
            sack_blocks: blocks(4),
            ..syn_repr()
        };
        assert_eq!(everything.sack_blocks_sent(), 2);
        let bytes = emit_with(&everything, &[]);
        let parsed = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap(), SRC, DST).unwrap();
        assert_eq!(parsed.sack_blocks, blocks(2), "the first blocks are kept");
    }

    #[test]
    fn lays_out_options_as_linux_does() {
        let ts = Some(Timestamps {
            value: 0x01020304,
            echo: 0x05060708,
        });
        let ts_only = emit_with(
            &Repr {
                timestamps: ts,
                ..bare_repr()
            },
            &[],
        );
        assert_eq!(&ts_only[20..], &[1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8]);
        let sack_ok = emit_with(
            &Repr {
                sack_permitted: true,
                ..bare_repr()
            },
            &[],
        );
        assert_eq!(&sack_ok[20..], &[1, 1, 4, 2]);
        let mss_ws = emit_with(
            &Repr {
                mss: Some(1400),
                window_scale: Some(0),
                ..bare_repr()
            },
            &[],
        );
        assert_eq!(&mss_ws[20..], &[2, 4, 0x05, 0x78, 1, 3, 3, 0]);
        assert_eq!(emit_with(&bare_repr(), &[]).len(), 20);
    }

    #[test]
    fn setters_keep_offset_and_flags_apart() {
        let mut bytes = SYN;
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_flags(Flags::FIN | Flags::ACK);
        assert_eq!(packet.header_len(), 40);
        packet.set_header_len(20);
        assert_eq!(packet.flags(), Flags::FIN | Flags::ACK);
        // Reserved bits are ignored when reading and cleared when writing flags.
        bytes[12] |= 0x0e;
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        assert_eq!(packet.flags(), Flags::FIN | Flags::ACK);
        packet.set_flags(Flags::SYN);
        assert_eq!(bytes[12..14], [0x50, 0x02]);
    }

    #[test]
    fn displays_one_line() {
        let repr = Repr {
            seq: SeqNumber(123),
            timestamps: Some(Timestamps { value: 1, echo: 0 }),
            ..syn_repr()
        };
        assert_eq!(
            repr.to_string(),
            "TCP 54321 > 7 [SYN] seq=123 ack=0 win=64240 len=0 [mss=1460 ws=7 sackOK ts=1/0]"
        );
        let ack = Repr {
            flags: Flags::ACK,
            sack_blocks: blocks(2),
            payload_len: 5,
            ..bare_repr()
        };
        assert_eq!(
            ack.to_string(),
            "TCP 54321 > 7 [ACK] seq=1804289383 ack=0 win=64240 len=5 [sack=1000-1500,2000-2500]"
        );
        let urgent = Repr {
            flags: Flags::URG | Flags::ACK,
            urgent: 3,
            ..bare_repr()
        };
        assert_eq!(
            urgent.to_string(),
            "TCP 54321 > 7 [ACK, URG] seq=1804289383 ack=0 win=64240 urg=3 len=0"
        );
    }

    fn arb_repr() -> impl Strategy<Value = Repr> {
        let fields = (
            any::<(u16, u16, u32, u32)>(),
            0u16..0x200,
            any::<(u16, u16)>(),
        );
        let options = (
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            proptest::collection::vec(any::<(u32, u32)>(), 0..=4),
            proptest::option::of(any::<(u32, u32)>()),
        );
        (fields, options, 0usize..64).prop_map(|(fields, options, payload_len)| {
            let ((src_port, dst_port, seq, ack), flags, (window, urgent)) = fields;
            let (mss, window_scale, sack_permitted, edges, ts) = options;
            let mut sack_blocks = SackBlocks::new();
            for (left, right) in edges {
                sack_blocks.push(SackBlock {
                    left: SeqNumber(left),
                    right: SeqNumber(right),
                });
            }
            Repr {
                src_port,
                dst_port,
                seq: SeqNumber(seq),
                ack: SeqNumber(ack),
                flags: Flags::from_bits_truncate(flags),
                window,
                urgent,
                mss,
                window_scale,
                sack_permitted,
                sack_blocks,
                timestamps: ts.map(|(value, echo)| Timestamps { value, echo }),
                payload_len,
            }
        })
    }

    proptest! {
        /// Emit then parse gives the Repr back, less the SACK blocks that did not fit.
        #[test]
        fn emit_then_parse_round_trips(repr in arb_repr(), fill in any::<u8>()) {
            let bytes = emit_with(&repr, &vec![fill; repr.payload_len]);
            prop_assert!(repr.header_len() <= 60 && repr.header_len().is_multiple_of(4));
            let packet = Packet::new_checked(&bytes[..]).unwrap();
            let mut expected = repr;
            expected.sack_blocks.truncate(repr.sack_blocks_sent());
            prop_assert_eq!(Repr::parse(&packet, SRC, DST), Ok(expected));
        }

        /// Arbitrary bytes: checking, every accessor and parsing never panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                let _ = (packet.src_port(), packet.dst_port(), packet.seq_number());
                let _ = (packet.ack_number(), packet.flags(), packet.window_len());
                let _ = (packet.checksum(), packet.urgent_at(), packet.options(), packet.payload());
                let _ = Repr::parse(&packet, SRC, DST);
                // Most random bytes fail the checksum: make it right to reach the options.
                let mut fixed = bytes.clone();
                Packet::new_unchecked(&mut fixed[..]).fill_checksum(SRC, DST);
                let packet = Packet::new_checked(&fixed[..]).unwrap();
                if let Ok(repr) = Repr::parse(&packet, SRC, DST) {
                    prop_assert_eq!(repr.payload_len, packet.payload().len());
                    let _ = repr.to_string();
                }
            }
        }
    }
}
