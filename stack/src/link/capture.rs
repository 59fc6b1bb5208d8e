//! A link wrapper that writes every packet to a pcapng file.
