//! LZ4 blocks (lz4_flex) in allocations of their exact size, for data kept compressed for a
//! while: the summary table's kept lines, closed connections' packed states (flow/cold.rs).

/// `input` compressed. Compressed into a buffer of the largest possible size, then copied
/// into one of its own: `lz4_flex::block::compress` returns that largest buffer, and shrinking
/// it (`into_boxed_slice`) left the rest of each 64 KiB block's allocation unusable to
/// anything bigger than the hole (valgrind massif counted 5 MiB of it on short.pcap).
pub fn compress(input: &[u8]) -> Box<[u8]> {
    let mut out = vec![0; lz4_flex::block::get_maximum_output_size(input.len())];
    let n = lz4_flex::block::compress_into(input, &mut out)
        .expect("a buffer of the largest output size holds the output");
    Box::from(&out[..n])
}

/// Bytes `compress` made of `len` bytes.
pub fn decompress(lz4: &[u8], len: usize) -> Vec<u8> {
    lz4_flex::block::decompress(lz4, len).expect("a block compressed here decompresses")
}
