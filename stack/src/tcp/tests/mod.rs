//! TCP on virtual time, one behaviour per test, in the order of `shared/TCP-SCENARIOS.md`:
//! the test plays the peer segment by segment and checks every segment the stack sends back.

mod harness;

mod acks;
mod close;
mod data;
mod dsack;
mod handshake;
mod icmp;
mod keepalive;
mod long_stream;
mod loss;
mod offload;
mod paws;
mod recovery;
mod reset;
mod syncookies;
mod tail_loss;
mod unsent;
mod urgent;
mod window;
mod wrap_edges;
