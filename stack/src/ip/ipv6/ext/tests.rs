//! Each rule of the walk on known bytes. Payloads start right after the fixed header, so a
//! Parameter Problem's pointer is 40 + the offset in the payload.

use super::*;

const UDP: u8 = 17;
const TCP: u8 = 6;
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const NO_NEXT: u8 = 59;
const DST_OPTS: u8 = 60;

/// An 8-byte Hop-by-Hop or Destination Options header holding one PadN of 4 bytes of padding.
fn padded(next: u8) -> [u8; 8] {
    [next, 0, 1, 4, 0, 0, 0, 0]
}

/// An 8-byte options header whose 6 bytes of options are `options`.
fn with_options(next: u8, options: [u8; 6]) -> Vec<u8> {
    let mut bytes = vec![next, 0];
    bytes.extend_from_slice(&options);
    bytes
}

fn walk_from(first: u8, payload: &[u8]) -> Result<Chain, Verdict> {
    walk(NextHeader::from(first), payload, false)
}

fn upper(protocol: u8, offset: usize) -> Result<Chain, Verdict> {
    Ok(Chain::Upper {
        protocol: IpProtocol::from(protocol),
        offset,
    })
}

fn problem_at(code: ParamProblemCode, pointer: u32, reason: DropReason) -> Result<Chain, Verdict> {
    Err(Verdict::ParameterProblem {
        code,
        pointer,
        reason,
    })
}

#[test]
fn no_extension_headers_is_the_upper_layer_at_0() {
    assert_eq!(walk_from(TCP, b"tcp header"), upper(TCP, 0));
    assert_eq!(
        walk_from(58, &[]),
        upper(58, 0),
        "empty data is the upper layer's to judge"
    );
    // Extension headers this stack does not process are upper layers it has no handler for.
    assert_eq!(walk_from(51, &[0; 16]), upper(51, 0));
}

#[test]
fn steps_over_hop_by_hop_then_destination_options() {
    let mut payload = Vec::new();
    payload.extend_from_slice(&padded(DST_OPTS));
    // A 16-byte Destination Options header: Hdr Ext Len 1, Pad1, PadN of 11 bytes.
    payload.extend_from_slice(&[UDP, 1, 0, 1, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    payload.extend_from_slice(b"udp header");
    assert_eq!(walk_from(HOP_BY_HOP, &payload), upper(UDP, 24));
}

#[test]
fn any_order_and_repeats_are_accepted() {
    // Destination Options, Routing (segments left 0), Destination Options again, then TCP.
    let mut payload = Vec::new();
    payload.extend_from_slice(&padded(ROUTING));
    payload.extend_from_slice(&[DST_OPTS, 0, 4, 0, 0, 0, 0, 0]);
    payload.extend_from_slice(&padded(TCP));
    assert_eq!(walk_from(DST_OPTS, &payload), upper(TCP, 24));
}

#[test]
fn hop_by_hop_after_another_header_is_an_unrecognized_next_header() {
    let mut payload = Vec::new();
    payload.extend_from_slice(&padded(HOP_BY_HOP));
    payload.extend_from_slice(&padded(UDP));
    assert_eq!(
        walk_from(DST_OPTS, &payload),
        problem_at(
            ParamProblemCode::UnrecognizedNextHeader,
            40, // the Destination Options header's Next Header field
            DropReason::HopByHopNotFirst
        )
    );
    // Twice in a row is also "not first" for the second one.
    let mut payload = padded(HOP_BY_HOP).to_vec();
    payload.extend_from_slice(&padded(UDP));
    assert_eq!(
        walk_from(HOP_BY_HOP, &payload).unwrap_err().reason(),
        DropReason::HopByHopNotFirst
    );
}

#[test]
fn routing_header_with_segments_left_is_a_parameter_problem() {
    // Type 0 (deprecated), 1 segment left, one address.
    let mut payload = vec![UDP, 2, 0, 1, 0, 0, 0, 0];
    payload.extend_from_slice(&[0x20; 16]);
    assert_eq!(
        walk_from(ROUTING, &payload),
        problem_at(
            ParamProblemCode::ErroneousHeaderField,
            42, // the Routing Type field
            DropReason::RoutingHeader
        )
    );
    // After a Hop-by-Hop header, the pointer moves with it.
    let mut after = padded(ROUTING).to_vec();
    after.extend_from_slice(&payload);
    assert_eq!(
        walk_from(HOP_BY_HOP, &after),
        problem_at(
            ParamProblemCode::ErroneousHeaderField,
            50,
            DropReason::RoutingHeader
        )
    );
    // Segments left 0: an unknown type (253, experimental) is skipped.
    payload[2] = 253;
    payload[3] = 0;
    assert_eq!(walk_from(ROUTING, &payload), upper(UDP, 24));
}

#[test]
fn fragment_header_stops_the_walk_with_its_fields() {
    // Offset 185 units (1480 bytes), M set, identification 0xdeadbeef, 16 bytes of data.
    let mut payload = vec![UDP, 0, 0x05, 0xc9, 0xde, 0xad, 0xbe, 0xef];
    payload.extend_from_slice(&[0xaa; 16]);
    let header = FragmentHeader {
        next_header: NextHeader::Protocol(IpProtocol::Udp),
        offset: 1480,
        more_fragments: true,
        ident: 0xdead_beef,
    };
    assert_eq!(
        walk_from(FRAGMENT, &payload),
        Ok(Chain::Fragment { header, offset: 8 })
    );
    assert!(!header.is_atomic());
    // Reserved bits (the byte after Next Header, and the two beside M) are ignored.
    payload[1] = 0xff;
    payload[3] |= 0x06;
    assert_eq!(walk_from(FRAGMENT, &payload).map(|c| c.offset()), Ok(8));
    // Behind a Hop-by-Hop header.
    let mut after = padded(FRAGMENT).to_vec();
    after.extend_from_slice(&payload);
    assert_eq!(walk_from(HOP_BY_HOP, &after).map(|c| c.offset()), Ok(16));
}

#[test]
fn fragment_lengths_are_checked() {
    // M set and 15 bytes of data: not a multiple of 8.
    let mut payload = vec![UDP, 0, 0x00, 0x01, 0, 0, 0, 1];
    payload.extend_from_slice(&[0; 15]);
    assert_eq!(
        walk_from(FRAGMENT, &payload),
        problem_at(
            ParamProblemCode::ErroneousHeaderField,
            4,
            DropReason::BadFragment
        )
    );
    // The last fragment (M clear) may have any length.
    payload[3] = 0x00;
    assert!(walk_from(FRAGMENT, &payload).is_ok());
    // Offset 65,528 with 15 bytes would end past 65,535.
    payload[2] = 0xff;
    payload[3] = 0xf8;
    assert_eq!(
        walk_from(FRAGMENT, &payload),
        problem_at(
            ParamProblemCode::ErroneousHeaderField,
            42,
            DropReason::BadFragment
        )
    );
    // Cut inside the header.
    assert_eq!(
        walk_from(FRAGMENT, &payload[..7]),
        Err(Verdict::Drop(DropReason::Truncated))
    );
}

#[test]
fn unknown_options_follow_the_two_high_bits_of_their_type() {
    // Type 0x1e (00: skip) with 2 bytes of data, then Pad1 Pad1.
    let skip = with_options(UDP, [0x1e, 2, 9, 9, 0, 0]);
    assert_eq!(walk_from(DST_OPTS, &skip), upper(UDP, 8));
    // 01: discard silently.
    let discard = with_options(UDP, [0, 0x5e, 2, 9, 9, 0]);
    assert_eq!(
        walk_from(DST_OPTS, &discard),
        Err(Verdict::Drop(DropReason::UnknownOption))
    );
    // 10: discard and send code 2, pointing at the option's type, even to multicast.
    let always = with_options(UDP, [0, 0x9e, 2, 9, 9, 0]);
    let expected = problem_at(
        ParamProblemCode::UnrecognizedOption,
        43,
        DropReason::UnknownOption,
    );
    assert_eq!(walk_from(DST_OPTS, &always), expected);
    assert_eq!(
        walk(NextHeader::DestinationOptions, &always, true),
        expected
    );
    // 11: the same, unless the destination was multicast. Jumbo Payload (0xc2) is one.
    let unicast_only = with_options(UDP, [0xc2, 4, 0, 1, 0, 0]);
    assert_eq!(
        walk_from(HOP_BY_HOP, &unicast_only),
        problem_at(
            ParamProblemCode::UnrecognizedOption,
            42,
            DropReason::UnknownOption
        )
    );
    assert_eq!(
        walk(NextHeader::HopByHop, &unicast_only, true),
        Err(Verdict::Drop(DropReason::UnknownOption))
    );
    // Router Alert (5) is 00: a host skips it.
    let router_alert = with_options(UDP, [5, 2, 0, 0, 1, 0]);
    assert_eq!(walk_from(HOP_BY_HOP, &router_alert), upper(UDP, 8));
}

#[test]
fn options_must_fit_their_header() {
    // PadN claiming 5 bytes where 4 are left.
    let overrun = with_options(UDP, [1, 5, 0, 0, 0, 0]);
    assert_eq!(
        walk_from(DST_OPTS, &overrun),
        Err(Verdict::Drop(DropReason::BadOption))
    );
    // A type byte as the last byte, with no room for its length.
    let no_length = with_options(UDP, [0, 0, 0, 0, 0, 0x1e]);
    assert_eq!(
        walk_from(DST_OPTS, &no_length),
        Err(Verdict::Drop(DropReason::BadOption))
    );
    // Six Pad1s fill a header exactly.
    assert_eq!(
        walk_from(DST_OPTS, &with_options(TCP, [0; 6])),
        upper(TCP, 8)
    );
}

#[test]
fn headers_that_run_past_the_payload_are_truncated() {
    let truncated = Err(Verdict::Drop(DropReason::Truncated));
    assert_eq!(walk_from(HOP_BY_HOP, &[]), truncated);
    assert_eq!(walk_from(HOP_BY_HOP, &[UDP]), truncated);
    // Hdr Ext Len 1 says 16 bytes; 8 are there.
    assert_eq!(walk_from(DST_OPTS, &[UDP, 1, 1, 4, 0, 0, 0, 0]), truncated);
    assert_eq!(walk_from(ROUTING, &[UDP, 0, 0, 0, 0, 0, 0]), truncated);
    // Hdr Ext Len 255: 2,048 bytes.
    let mut long = vec![UDP, 255, 1, 255];
    long.resize(2047, 0);
    assert_eq!(walk_from(DST_OPTS, &long), truncated);
    long.push(0);
    // A PadN of 255 bytes and Pad1s to the end: the largest header there is.
    assert_eq!(walk_from(DST_OPTS, &long), upper(UDP, 2048));
}

#[test]
fn no_next_header_ends_the_chain() {
    let dropped = Err(Verdict::Drop(DropReason::NoNextHeader));
    assert_eq!(walk_from(NO_NEXT, b"ignored"), dropped);
    assert_eq!(walk_from(HOP_BY_HOP, &padded(NO_NEXT)), dropped);
}

#[test]
fn the_walk_is_bounded() {
    let chain = |headers: usize| {
        let mut payload = Vec::new();
        for i in 0..headers {
            let next = if i + 1 == headers { UDP } else { DST_OPTS };
            payload.extend_from_slice(&padded(next));
        }
        walk_from(DST_OPTS, &payload)
    };
    assert_eq!(chain(MAX_EXT_HEADERS), upper(UDP, 8 * MAX_EXT_HEADERS));
    assert_eq!(
        chain(MAX_EXT_HEADERS + 1),
        Err(Verdict::Drop(DropReason::TooManyHeaders))
    );
    assert_eq!(chain(1000), Err(Verdict::Drop(DropReason::TooManyHeaders)));
}
