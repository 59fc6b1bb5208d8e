//! The two-byte length in front of each message over TCP.

use crate::dns::tcp::{read_framed, write_framed};

#[tokio::test]
async fn messages_follow_each_other_each_with_its_length() {
    let mut wire = Vec::new();
    write_framed(&mut wire, b"first").await.unwrap();
    write_framed(&mut wire, &[7; 300]).await.unwrap();
    assert_eq!(&wire[..7], b"\x00\x05first");
    assert_eq!(&wire[7..9], &[1, 44]);
    let mut reader = &wire[..];
    assert_eq!(read_framed(&mut reader).await.unwrap().unwrap(), b"first");
    assert_eq!(
        read_framed(&mut reader).await.unwrap().unwrap(),
        vec![7; 300]
    );
    assert_eq!(read_framed(&mut reader).await.unwrap(), None, "a clean end");
}

#[tokio::test]
async fn an_end_inside_a_length_or_a_message_is_an_error() {
    for cut in [&b"\x00"[..], b"\x00\x05fir"] {
        let mut reader = cut;
        let err = read_framed(&mut reader).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}

#[tokio::test]
async fn a_message_over_65535_bytes_cannot_be_framed() {
    let mut wire = Vec::new();
    let err = write_framed(&mut wire, &vec![0; 65536]).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(wire.is_empty());
}
