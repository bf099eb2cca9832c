//! Variants of the echo actor for start and memory figures: the same code
//! signed for new actor ids, or distinct code (a random custom section).

/// Signs `component` for a fresh actor id. With `distinct_code`, appends a
/// custom section of random bytes first, so the code hash (and the compile
/// cache key) is new.
pub fn sign_new(
    component: &[u8],
    issuer: &nkeys::KeyPair,
    distinct_code: bool,
) -> anyhow::Result<(String, Vec<u8>)> {
    let mut bytes = component.to_vec();
    if distinct_code {
        append_custom_section(&mut bytes, "bench-nonce", uuid::Uuid::new_v4().as_bytes());
    }
    let name = format!("echo-{}", uuid::Uuid::new_v4().simple());
    floe_tests::sign_as_new_actor(&bytes, issuer, &name[..13], &[])
}

fn append_custom_section(bytes: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut body = Vec::new();
    leb(&mut body, name.len());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    bytes.push(0);
    leb(bytes, body.len());
    bytes.extend_from_slice(&body);
}

fn leb(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
