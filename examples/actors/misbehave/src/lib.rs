//! The misbehaving actor: each function fails in its own way so tests can
//! show that one failing call never disturbs another.

wit_bindgen::generate!({
    path: "../../../interfaces/wit/examples",
    world: "misbehave-actor",
});

use exports::floe::examples::misbehave::Guest;

struct Misbehave;

impl Guest for Misbehave {
    fn panic(message: String) {
        panic!("{message}");
    }

    fn spin() {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn allocate(mib: u32) -> u64 {
        let bytes = (mib as usize) << 20;
        let mut v = vec![0u8; bytes];
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
        v.len() as u64
    }

    fn exhaust() -> u64 {
        let mut held: Vec<Vec<u8>> = Vec::new();
        let mut total = 0u64;
        loop {
            let mut chunk = vec![0u8; 1 << 20];
            chunk[0] = 1;
            total += chunk.len() as u64;
            held.push(std::hint::black_box(chunk));
            if total == u64::MAX {
                return total;
            }
        }
    }

    fn ok(n: u32) -> u32 {
        n.wrapping_add(1)
    }

    fn chatter(lines: u32) -> u32 {
        let line = "x".repeat(99);
        for _ in 0..lines {
            println!("{line}");
        }
        lines
    }

    fn big(kib: u32) -> Vec<u8> {
        vec![7u8; (kib as usize) << 10]
    }
}

export!(Misbehave);
