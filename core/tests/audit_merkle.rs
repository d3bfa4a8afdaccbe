//! Tests for `audit/merkle.rs`: tree heads against a naive RFC 6962 reference and the
//! published certificate-transparency test vectors, every inclusion and consistency proof of
//! small trees verified, and altered proofs refused.

use inferwarden::audit::merkle::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, subtree_root, tree_root,
    verify_consistency, verify_inclusion, Hash, RootBuilder, SubtreeSource,
};
use inferwarden::Error;

/// Leaves in memory; perfect subtrees folded from them.
struct Leaves(Vec<Hash>);

impl SubtreeSource for Leaves {
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, Error> {
        let (start, end) = ((index << level) as usize, ((index + 1) << level) as usize);
        Ok(naive(&self.0[start..end]))
    }
}

/// RFC 6962 section 2.1, written out as the RFC states it.
fn naive(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&naive(&leaves[..k]), &naive(&leaves[k..]))
        }
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
        .collect()
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn heads_match_the_reference_and_the_streaming_builder() {
    let all = leaves(300);
    let src = Leaves(all.clone());
    let mut builder = RootBuilder::new();
    assert_eq!(builder.root(), empty_root());
    for n in 0..=300usize {
        let want = naive(&all[..n]);
        assert_eq!(tree_root(&src, n as u64).unwrap(), want, "size {n}");
        assert_eq!(builder.root(), want, "builder at size {n}");
        if n < 300 {
            builder.push(all[n]);
        }
    }
    // Perfect subtrees pushed whole give the same head.
    let mut b = RootBuilder::new();
    b.push_perfect(8, naive(&all[..256]));
    for leaf in &all[256..300] {
        b.push(*leaf);
    }
    assert_eq!(b.root(), naive(&all));
    assert_eq!(subtree_root(&src, 256, 300).unwrap(), naive(&all[256..300]));
}

#[test]
fn certificate_transparency_vectors() {
    // The eight leaves and tree heads of the certificate-transparency reference tests.
    let inputs: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let heads = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let src = Leaves(inputs.iter().map(|d| leaf_hash(d)).collect());
    for (i, want) in heads.iter().enumerate() {
        assert_eq!(
            hex(&tree_root(&src, i as u64 + 1).unwrap()),
            *want,
            "size {}",
            i + 1
        );
    }
    assert_eq!(
        hex(&empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn every_inclusion_proof_of_small_trees_verifies() {
    let all = leaves(70);
    let src = Leaves(all.clone());
    for size in 1..=70u64 {
        let root = naive(&all[..size as usize]);
        for index in 0..size {
            let proof = inclusion_proof(&src, index, size).unwrap();
            let leaf = all[index as usize];
            assert!(
                verify_inclusion(&leaf, index, size, &proof, &root),
                "{index}/{size}"
            );
            // Another leaf, index, or a flipped proof byte does not verify.
            let other = all[((index + 1) % size) as usize];
            if size > 1 {
                assert!(!verify_inclusion(&other, index, size, &proof, &root));
                assert!(!verify_inclusion(
                    &leaf,
                    (index + 1) % size,
                    size,
                    &proof,
                    &root
                ));
            }
            if let Some(first) = proof.first() {
                let mut bad = proof.clone();
                let mut h = *first;
                h[0] ^= 1;
                bad[0] = h;
                assert!(!verify_inclusion(&leaf, index, size, &bad, &root));
                assert!(!verify_inclusion(&leaf, index, size, &proof[1..], &root));
            }
        }
        assert!(inclusion_proof(&src, size, size).is_err());
    }
}

#[test]
fn every_consistency_proof_of_small_trees_verifies() {
    let all = leaves(50);
    let src = Leaves(all.clone());
    for new in 1..=50u64 {
        let new_root = naive(&all[..new as usize]);
        for old in 1..=new {
            let old_root = naive(&all[..old as usize]);
            let proof = consistency_proof(&src, old, new).unwrap();
            assert!(
                verify_consistency(old, new, &old_root, &new_root, &proof),
                "{old}->{new}"
            );
            if old < new {
                let wrong = naive(&all[1..old as usize + 1]);
                assert!(
                    !verify_consistency(old, new, &wrong, &new_root, &proof),
                    "{old}->{new} wrong old root"
                );
                let mut bad = proof.clone();
                bad.last_mut().unwrap()[5] ^= 0x80;
                assert!(
                    !verify_consistency(old, new, &old_root, &new_root, &bad),
                    "{old}->{new} bad proof"
                );
            }
        }
    }
    assert!(consistency_proof(&src, 5, 4).is_err());
}
