//! A link wrapper that writes every packet to a pcapng file.
//!
//! [`Capture`] sits between the stack and any other [`Device`], and records each packet that passes,
//! in both directions, as Wireshark would have seen it on the interface. The file is in the
//! [pcapng format] and is written with the pcap-file crate:
//!
//! ```text
//! +---------------------+  Section Header Block: byte order, "tunstack" as the application
//! | SHB                 |
//! +---------------------+  Interface Description Block: the link type of the device's medium
//! | IDB                 |  (LINKTYPE_RAW = 101: packets start with the IP header, IPv4 or
//! |                     |  IPv6, for TUN; LINKTYPE_ETHERNET = 1: frames start with the MAC
//! |                     |  addresses, for TAP), snaplen, if_name, if_tsresol = 9
//! +---------------------+  (timestamps count nanoseconds)
//! | EPB  packet 1       |  Enhanced Packet Block per packet: timestamp, the bytes, epb_flags
//! | EPB  packet 2       |  (inbound = 1 or outbound = 2 in the low two bits) and, when the stack
//! | ...                 |  said why it sent the packet, opt_comment (Wireshark: frame.comment)
//! +---------------------+
//! ```
//!
//! Each block reaches the file as its packet passes, with one `write_all` and no buffering: the
//! file can be opened while the program runs, and a killed program leaves at most its last block
//! incomplete. Capturing is an observer: if writing fails, a warning is logged once and capturing
//! stops, but the link keeps carrying packets.
//!
//! On a device with offloads ([`super::offload`]), a capture records what crosses the
//! device, as `tcpdump` on a host whose card does TSO would: packets of up to 64 KiB, each a
//! burst of segments, whose comment says how many segments it stands for on the wire
//! ("TSO super-packet: 45 segments of 1448 bytes on the wire", "GSO" for the kernel's). A
//! checksum the device was left to complete is completed in the capture, so that Wireshark's
//! checksum check passes, as it would on the wire.
//!
//! Timestamps are `epoch + (now - start)`, with `now` from tokio's clock. Under tokio's paused
//! test clock and a fixed epoch ([`Capture::with_epoch`]) a run writes the same bytes every time.
//!
//! [pcapng format]: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::task::{ready, Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgWriter};
use pcap_file::{DataLink, Endianness, PcapError};

use super::offload::{self, Checksum, Offloads, PacketInfo};
use super::{Device, Medium, Tail};

/// The most bytes of a packet a block stores: 256 KiB (plus the medium's header; `tcpdump`'s
/// default is 256 KiB too), above the longest packet we send (a BIG TCP super-packet,
/// [`offload::BIG_TCP_MAX`]), so every packet is whole.
const SNAPLEN: u32 = 256 * 1024;

/// `if_tsresol` = 9: timestamps are in units of 10^-9 s. pcap-file writes nanoseconds, and
/// readers assume microseconds without this option.
const TS_RESOLUTION_NANOS: u8 = 9;

/// Which way a packet went, as the low two bits of `epb_flags` (pcapng section 4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Received by the stack.
    Inbound = 1,
    /// Sent by the stack.
    Outbound = 2,
}

/// A link that records every packet passing through it to a pcapng file.
///
/// ```no_run
/// use tunstack::device::{memory, Capture, MemoryConfig};
///
/// # fn main() -> std::io::Result<()> {
/// let (a, _b) = memory::pair(MemoryConfig::default());
/// let link = Capture::create(a, "mem0.pcapng", "mem0")?;
/// // Give `link` to the stack; open mem0.pcapng in Wireshark, even while it runs.
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Capture<L> {
    inner: L,
    /// Where blocks go; `None` once a write failed (the warning is logged then, once).
    sink: Option<Sink>,
    /// Tokio's clock when the capture began: timestamps count from here.
    start: tokio::time::Instant,
    /// The wall-clock time `start` stands for, as time since the Unix epoch.
    epoch: Duration,
    packets_written: u64,
    /// A comment with a note on offloads added, between two packets that need one.
    note: String,
    /// A packet sent in parts, joined for its record (the buffer is reused).
    joined: Vec<u8>,
}

impl<L: Device> Capture<L> {
    /// Wraps `inner` and records its packets to a new file at `path` (truncated if it exists).
    pub fn create(inner: L, path: impl AsRef<Path>, if_name: &str) -> io::Result<Self> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot create capture file {}: {err}", path.display()),
            )
        })?;
        tracing::info!(path = %path.display(), if_name, "capturing packets");
        Capture::new(inner, file, if_name)
    }

    /// Wraps `inner` and records its packets to `writer`, which should not buffer (see the
    /// module documentation). Writes the file's two header blocks before returning.
    ///
    /// `if_name` names the interface in Wireshark, e.g. `"tun0"` or `"mem0"`.
    pub fn new(inner: L, writer: impl Write + Send + 'static, if_name: &str) -> io::Result<Self> {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let sink = Sink::new(Box::new(writer), if_name, inner.medium())?;
        Ok(Capture {
            inner,
            sink: Some(sink),
            start: tokio::time::Instant::now(),
            epoch,
            packets_written: 0,
            note: String::new(),
            joined: Vec::new(),
        })
    }

    /// Sets the wall-clock time the capture starts at (time since the Unix epoch), instead of
    /// now: for reproducible files.
    pub fn with_epoch(mut self, epoch: Duration) -> Self {
        self.epoch = epoch;
        self
    }

    /// How many packets have been written so far.
    pub fn packets_written(&self) -> u64 {
        self.packets_written
    }

    /// Whether packets are still being written (false after a write error).
    pub fn is_capturing(&self) -> bool {
        self.sink.is_some()
    }

    /// The wrapped link.
    pub fn get_ref(&self) -> &L {
        &self.inner
    }

    /// The wrapped link, mutably. Packets moved through it directly are not recorded.
    pub fn get_mut(&mut self) -> &mut L {
        &mut self.inner
    }

    /// Stops capturing (flushing the writer) and returns the wrapped link.
    pub fn into_inner(self) -> L {
        drop(self.sink);
        self.inner
    }

    /// Records a packet the device took, whole or sent in parts, as
    /// [`Capture::poll_send_info`] says.
    fn record_sent(&mut self, packet: &[u8], info: &PacketInfo, comment: Option<&str>) {
        let mut note = std::mem::take(&mut self.note);
        let noted = offload_note(&mut note, comment, info, packet.len(), "TSO");
        let comment = if noted { Some(&*note) } else { comment };
        self.record(Direction::Outbound, packet, info, comment);
        self.note = note;
    }

    /// Writes one packet's block, or gives up capturing if that fails.
    fn record(
        &mut self,
        direction: Direction,
        packet: &[u8],
        info: &PacketInfo,
        comment: Option<&str>,
    ) {
        let Some(sink) = &mut self.sink else {
            return;
        };
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.start);
        let partial = match info.checksum {
            Checksum::Partial { start, offset } => Some((start, offset)),
            _ => None,
        };
        let at = self.epoch + elapsed;
        match sink.write_packet(at, direction, packet, partial, comment) {
            Ok(()) => self.packets_written += 1,
            Err(err) => {
                tracing::warn!(
                    %err,
                    packets_written = self.packets_written,
                    "capture write failed; capturing stops, the link carries on"
                );
                self.sink = None;
            }
        }
    }
}

impl<L: Device> Device for Capture<L> {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn medium(&self) -> Medium {
        self.inner.medium()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = ready!(self.inner.poll_recv(cx, buf))?;
        self.record(Direction::Inbound, &buf[..len], &PacketInfo::PLAIN, None);
        Poll::Ready(Ok(len))
    }

    fn offloads(&self) -> Offloads {
        self.inner.offloads()
    }

    /// Records the packet as the device gave it; a super-packet's comment says how many
    /// segments it stands for.
    fn poll_recv_info(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        let (len, info) = ready!(self.inner.poll_recv_info(cx, buf))?;
        let mut note = std::mem::take(&mut self.note);
        let noted = offload_note(&mut note, None, &info, len, "GSO");
        self.record(
            Direction::Inbound,
            &buf[..len],
            &info,
            noted.then_some(&*note),
        );
        self.note = note;
        Poll::Ready(Ok((len, info)))
    }

    /// Records the packet as it goes to the device, a super-packet whole (as `tcpdump` shows
    /// it on a host whose card does TSO), its comment saying what the device will make of it.
    fn poll_send_info(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        ready!(self.inner.poll_send_info(cx, packet, info, comment))?;
        self.record_sent(packet, info, comment);
        Poll::Ready(Ok(()))
    }

    /// As the device does: a capture joins the parts for its record only.
    fn sends_parts(&self) -> bool {
        self.inner.sends_parts()
    }

    /// Sends the parts as they are, then records the packet they make, like
    /// [`Capture::poll_send_info`].
    fn poll_send_parts(
        &mut self,
        cx: &mut Context<'_>,
        head: &mut Vec<u8>,
        tail: &Tail,
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        let mut joined = std::mem::take(&mut self.joined);
        joined.clear();
        joined.extend_from_slice(head);
        let sent = self.inner.poll_send_parts(cx, head, tail, info, comment);
        if !matches!(sent, Poll::Ready(Ok(()))) {
            self.joined = joined;
            return sent;
        }
        tail.append_to(&mut joined);
        self.record_sent(&joined, info, comment);
        self.joined = joined;
        Poll::Ready(Ok(()))
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        ready!(self.inner.poll_send(cx, packet, comment))?;
        self.record(Direction::Outbound, packet, &PacketInfo::PLAIN, comment);
        Poll::Ready(Ok(()))
    }

    fn records_comments(&self) -> bool {
        true
    }
}

/// Words what a super-packet stands for into `note`, after `comment`: several segments
/// (`kind`: "TSO" on the way out, "GSO" on the way in). Returns `false`, writing nothing, for
/// any other packet.
fn offload_note(
    note: &mut String,
    comment: Option<&str>,
    info: &PacketInfo,
    len: usize,
    kind: &str,
) -> bool {
    use std::fmt::Write as _;
    let Some(gso) = info.gso else {
        return false;
    };
    note.clear();
    if let Some(comment) = comment {
        note.push_str(comment);
        note.push_str("; ");
    }
    let segments = info.segments(len);
    let _ = write!(
        note,
        "{kind} super-packet: {segments} segments of {} bytes on the wire",
        gso.size
    );
    true
}

/// The writing half of a capture: the output and the buffers reused for every packet.
struct Sink {
    out: Box<dyn Write + Send>,
    /// Serializes one block at a time into its `Vec`, which is then written out and cleared.
    encoder: PcapNgWriter<Vec<u8>>,
    /// The packet block, refilled for each packet so its data and options keep their capacity.
    block: EnhancedPacketBlock<'static>,
    /// The comment text's buffer, between two packets that carry a comment.
    spare_comment: String,
}

impl Sink {
    /// Writes the Section Header and Interface Description blocks: one interface, with the link
    /// type of `medium`.
    fn new(out: Box<dyn Write + Send>, if_name: &str, medium: Medium) -> io::Result<Sink> {
        let section = SectionHeaderBlock {
            endianness: Endianness::native(),
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
                concat!("tunstack ", env!("CARGO_PKG_VERSION")),
            ))],
            ..SectionHeaderBlock::default()
        };
        let mut encoder =
            PcapNgWriter::with_section_header(Vec::new(), section).map_err(into_io_error)?;
        // LINKTYPE_RAW, not LINKTYPE_IPV4 (228) or LINKTYPE_IPV6 (229): a TUN device carries
        // both versions, and a reader tells them apart by the first four bits, as the kernel
        // does. tcpdump on a TUN device writes the same.
        let linktype = match medium {
            Medium::Ip => DataLink::RAW,
            Medium::Ethernet => DataLink::ETHERNET,
        };
        let interface = InterfaceDescriptionBlock {
            linktype,
            snaplen: SNAPLEN + medium.header_len() as u32,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Owned(if_name.to_owned())),
                InterfaceDescriptionOption::IfTsResol(TS_RESOLUTION_NANOS),
            ],
        };
        encoder
            .write_pcapng_block(interface)
            .map_err(into_io_error)?;
        let mut sink = Sink {
            out,
            encoder,
            block: EnhancedPacketBlock {
                interface_id: 0,
                timestamp: Duration::ZERO,
                original_len: 0,
                data: Cow::Owned(Vec::new()),
                options: Vec::new(),
            },
            spare_comment: String::new(),
        };
        sink.flush_block()?;
        Ok(sink)
    }

    /// Writes one Enhanced Packet Block.
    fn write_packet(
        &mut self,
        timestamp: Duration,
        direction: Direction,
        packet: &[u8],
        partial: Option<(u16, u16)>,
        comment: Option<&str>,
    ) -> io::Result<()> {
        let block = &mut self.block;
        block.timestamp = timestamp;
        block.original_len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let captured = packet
            .len()
            .min(SNAPLEN as usize + Medium::Ethernet.header_len());
        let data = block.data.to_mut();
        data.clear();
        data.extend_from_slice(&packet[..captured]);
        if let Some((start, offset)) = partial {
            // Wireshark checks checksums: give it the one the device will write.
            offload::complete_checksum(data, start, offset);
        }

        // Take back the previous packet's comment buffer before clearing the options.
        for option in block.options.drain(..) {
            if let EnhancedPacketOption::Comment(Cow::Owned(text)) = option {
                self.spare_comment = text;
            }
        }
        block
            .options
            .push(EnhancedPacketOption::Flags(direction as u32));
        if let Some(comment) = comment.filter(|c| !c.is_empty()) {
            let mut text = std::mem::take(&mut self.spare_comment);
            text.clear();
            text.push_str(comment);
            block
                .options
                .push(EnhancedPacketOption::Comment(Cow::Owned(text)));
        }

        // The encoder takes blocks wrapped in the `Block` enum: wrap ours for the call and unwrap
        // it afterwards, so its buffers live on for the next packet.
        let wrapped = Block::EnhancedPacket(std::mem::replace(&mut self.block, empty_block()));
        let result = self.encoder.write_block(&wrapped);
        if let Block::EnhancedPacket(block) = wrapped {
            self.block = block;
        }
        result.map_err(into_io_error)?;
        self.flush_block()
    }

    /// Writes the serialized block to the output in one piece, and empties the buffer.
    fn flush_block(&mut self) -> io::Result<()> {
        let result = self.out.write_all(self.encoder.get_ref());
        self.encoder.get_mut().clear();
        result
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Nothing is buffered here; this is for writers that buffer anyway.
        if let Err(err) = self.out.flush() {
            tracing::warn!(%err, "flushing the capture failed");
        }
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").finish_non_exhaustive()
    }
}

/// A packet block with nothing in it (and nothing allocated).
fn empty_block() -> EnhancedPacketBlock<'static> {
    EnhancedPacketBlock {
        interface_id: 0,
        timestamp: Duration::ZERO,
        original_len: 0,
        data: Cow::Borrowed(&[]),
        options: Vec::new(),
    }
}

/// Unwraps pcap-file's I/O errors, and turns its other errors (which would be bugs here, since
/// we only write blocks we built) into `InvalidData`.
fn into_io_error(err: PcapError) -> io::Error {
    match err {
        PcapError::IoError(err) => err,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::{Arc, Mutex};

    use pcap_file::pcapng::PcapNgReader;

    use super::*;
    use crate::device::testing::{
        icmp_echo_request, recv, send, tshark_fields, tshark_problems, udp_packet, TempFile,
        WakeCounter,
    };
    use crate::device::{memory, MemoryConfig, MemoryDevice};

    /// 2023-11-14 22:13:20.123456789 UTC: a fixed origin with all nine decimals in use.
    const EPOCH: Duration = Duration::new(1_700_000_000, 123_456_789);
    const KERNEL: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    /// Every block of a pcapng file after its Section Header, and that header.
    fn read_blocks(bytes: &[u8]) -> (SectionHeaderBlock<'static>, Vec<Block<'static>>) {
        let mut reader = PcapNgReader::new(bytes).unwrap();
        let mut blocks = Vec::new();
        while let Some(block) = reader.next_block() {
            blocks.push(block.unwrap().into_owned());
        }
        (reader.section().clone(), blocks)
    }

    /// The capture scenario every test shares, on the `Capture`d end `a` of a memory wire:
    /// an inbound UDP datagram, then 1.5 ms later an outbound ICMP echo request with a comment.
    async fn exchange(a: &mut Capture<MemoryDevice>, b: &mut MemoryDevice) {
        let mut buf = [0u8; 1500];
        send(b, &udp_packet((KERNEL, 40000), (STACK, 9), b"discard me"))
            .await
            .unwrap();
        recv(a, &mut buf).await.unwrap();
        tokio::time::advance(Duration::from_micros(1500)).await;
        let ping = icmp_echo_request(STACK, KERNEL, 0x7475, 1, b"tunstack");
        std::future::poll_fn(|cx| a.poll_send(cx, &ping, Some("echo request #1")))
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn writes_headers_then_one_block_per_packet() {
        let file = TempFile::new("capture-blocks");
        let (a, mut b) = memory::pair(MemoryConfig::default());
        let mut a = Capture::create(a, file.path(), "mem0")
            .unwrap()
            .with_epoch(EPOCH);
        exchange(&mut a, &mut b).await;
        assert_eq!(a.packets_written(), 2);

        // Read while the capture is still open: every block is already in the file.
        let (section, blocks) = read_blocks(&std::fs::read(file.path()).unwrap());
        assert!(matches!(
            &section.options[..],
            [SectionHeaderOption::UserApplication(app)] if app.starts_with("tunstack ")
        ));
        let [Block::InterfaceDescription(idb), Block::EnhancedPacket(udp), Block::EnhancedPacket(ping)] =
            &blocks[..]
        else {
            panic!("expected IDB, EPB, EPB; got {blocks:?}");
        };
        assert_eq!((idb.linktype, idb.snaplen), (DataLink::RAW, SNAPLEN));
        assert!(idb
            .options
            .contains(&InterfaceDescriptionOption::IfName("mem0".into())));
        assert!(idb
            .options
            .contains(&InterfaceDescriptionOption::IfTsResol(9)));

        assert_eq!(udp.timestamp, EPOCH);
        assert_eq!(udp.options, [EnhancedPacketOption::Flags(1)]);
        assert_eq!(udp.data.len(), 38);
        assert_eq!(ping.timestamp, EPOCH + Duration::from_micros(1500));
        assert_eq!(
            ping.options,
            [
                EnhancedPacketOption::Flags(2),
                EnhancedPacketOption::Comment("echo request #1".into())
            ]
        );
        assert_eq!(usize::try_from(ping.original_len).unwrap(), ping.data.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_packet_sent_in_parts_is_recorded_whole_and_goes_in_parts() {
        use bytes::Bytes;
        let file = TempFile::new("capture-parts");
        let (a, mut b) = memory::pair(MemoryConfig::default());
        let mut a = Capture::create(a, file.path(), "mem0").unwrap();
        assert!(a.sends_parts(), "as the wire does");
        let whole = udp_packet((STACK, 40000), (KERNEL, 9), b"headers then data");
        let data = Bytes::copy_from_slice(&whole[28..]);
        let tail = Tail::new(data.slice(..5), data.slice(5..));
        let mut head = whole[..28].to_vec();
        std::future::poll_fn(|cx| {
            a.poll_send_parts(cx, &mut head, &tail, &PacketInfo::PLAIN, Some("why"))
        })
        .await
        .unwrap();
        let (mut buf, mut got) = (Vec::new(), Tail::default());
        std::future::poll_fn(|cx| b.poll_recv_parts(cx, &mut buf, &mut got))
            .await
            .unwrap();
        assert_eq!(
            (&buf[..], &got),
            (&whole[..28], &tail),
            "the wire took the parts"
        );
        let (_, blocks) = read_blocks(&std::fs::read(file.path()).unwrap());
        let Some(Block::EnhancedPacket(packet)) = blocks.last() else {
            panic!("a packet block");
        };
        assert_eq!(&packet.data[..], &whole[..], "recorded joined");
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_run_writes_the_same_bytes() {
        let mut files = Vec::new();
        for _run in 0..2 {
            let file = TempFile::new("capture-repeat");
            let (a, mut b) = memory::pair(MemoryConfig::default());
            let mut a = Capture::create(a, file.path(), "mem0")
                .unwrap()
                .with_epoch(EPOCH);
            exchange(&mut a, &mut b).await;
            drop(a);
            tokio::time::advance(Duration::from_secs(7)).await; // runs start at different times
            files.push(std::fs::read(file.path()).unwrap());
        }
        assert!(files[0].len() > 100);
        assert_eq!(files[0], files[1]);
    }

    /// A writer that accepts `budget` bytes, then fails.
    struct FailingWriter {
        budget: usize,
        written: Arc<Mutex<usize>>,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut written = self.written.lock().unwrap();
            if *written + buf.len() > self.budget {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            *written += buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_write_error_stops_capturing_but_not_the_link() {
        let written = Arc::new(Mutex::new(0));
        let writer = FailingWriter {
            budget: 200,
            written: Arc::clone(&written),
        };
        let (a, mut b) = memory::pair(MemoryConfig::default());
        let mut a = Capture::new(a, writer, "mem0").unwrap();
        let header_len = *written.lock().unwrap();
        let mut buf = [0u8; 1500];
        for i in 0..5u8 {
            send(&mut a, &[i; 100]).await.unwrap();
            assert_eq!(recv(&mut b, &mut buf).await.unwrap(), 100);
        }
        assert!(!a.is_capturing());
        assert_eq!(
            a.packets_written(),
            0,
            "a 100-byte packet's block does not fit"
        );
        assert_eq!(*written.lock().unwrap(), header_len);
        assert_eq!(a.get_ref().stats().sent, 5);
    }

    #[test]
    fn the_file_must_be_creatable() {
        let (a, _b) = memory::pair(MemoryConfig::default());
        let err = Capture::create(a, "/nonexistent-dir/x.pcapng", "mem0").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir/x.pcapng"),
            "{err}"
        );
    }

    /// Where the sink's three reusable buffers live: the same after every packet once warm.
    fn buffer_addresses(capture: &Capture<MemoryDevice>) -> [*const u8; 3] {
        let sink = capture.sink.as_ref().unwrap();
        let comment = sink.block.options.iter().find_map(|option| match option {
            EnhancedPacketOption::Comment(text) => Some(text.as_ptr()),
            _ => None,
        });
        [
            sink.block.data.as_ptr(),
            sink.encoder.get_ref().as_ptr(),
            comment.unwrap_or(sink.spare_comment.as_ptr()),
        ]
    }

    #[tokio::test]
    async fn a_warm_capture_reuses_its_buffers() {
        let (a, _b) = memory::pair(MemoryConfig::default());
        let mut a = Capture::new(a, io::sink(), "mem0").unwrap();
        let comment_send = |a: &mut Capture<MemoryDevice>, len: usize| {
            let packet = vec![0u8; len];
            let waker = WakeCounter::new().waker();
            let mut cx = Context::from_waker(&waker);
            assert!(a.poll_send(&mut cx, &packet, Some("a comment")).is_ready());
        };
        comment_send(&mut a, 1500);
        let warm = buffer_addresses(&a);
        for len in [20, 1500, 576, 40] {
            comment_send(&mut a, len);
            assert_eq!(buffer_addresses(&a), warm, "after a {len}-byte packet");
        }
        assert_eq!(a.packets_written(), 5);
    }

    /// Wireshark's dissectors are the oracle: the file parses, the checksums are good, and the
    /// direction, comment and nanosecond timestamps show up in the fields a learner filters on.
    #[tokio::test(start_paused = true)]
    async fn tshark_reads_what_we_wrote() {
        let file = TempFile::new("capture-tshark");
        let (a, mut b) = memory::pair(MemoryConfig::default());
        let mut a = Capture::create(a, file.path(), "mem0")
            .unwrap()
            .with_epoch(EPOCH);
        exchange(&mut a, &mut b).await;

        let fields = [
            "frame.time_epoch",
            "frame.packet_flags_direction",
            "frame.comment",
            "frame.interface_name",
            "ip.src",
            "ip.dst",
            "ip.checksum.status",
            "udp.dstport",
            "udp.checksum.status",
            "icmp.type",
            "icmp.checksum.status",
        ];
        let Some(frames) = tshark_fields(file.path(), &fields) else {
            return;
        };
        // Checksum status 1 is "Good"; empty fields belong to protocols not in the frame.
        assert_eq!(
            frames,
            [
                "1700000000.123456789|0x00000001||mem0|10.77.0.1|10.77.0.2|1|9|1||",
                "1700000000.124956789|0x00000002|echo request #1|mem0|10.77.0.2|10.77.0.1|1|||8|1",
            ]
        );

        let flagged = tshark_problems(file.path()).unwrap_or_default();
        assert!(flagged.is_empty(), "tshark flags: {flagged:?}");
    }
}
