//! The RFC 6962 / RFC 9162 Merkle tree over the audit log's record hashes: tree heads,
//! inclusion and consistency proofs, and their verification.
//!
//! A leaf is `SHA-256(0x00 || data)` (the record hash is already a leaf hash), an inner
//! node `SHA-256(0x01 || left || right)`, the empty tree's head `SHA-256("")`. Proof
//! generation reads hashes through [`SubtreeSource`], which hands out perfect subtrees
//! (2^level leaves, aligned); a store answers those from its leaves and stored tiles.

use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The head of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Folds `2^k` hashes (a perfect subtree's leaves or tiles, in order) into its root.
pub fn fold_perfect(mut level: Vec<Hash>) -> Hash {
    if level.is_empty() {
        return empty_root();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                if pair.len() == 2 {
                    node_hash(&pair[0], &pair[1])
                } else {
                    pair[0]
                }
            })
            .collect();
    }
    level[0]
}

/// Hands out perfect subtree hashes: `perfect(level, index)` is the root of leaves
/// `[index << level, (index + 1) << level)`.
pub trait SubtreeSource {
    /// The root of one perfect, aligned subtree.
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, Error>;
}

/// The tree head over leaves `[start, end)` (RFC 6962 MTH), `start` aligned as the RFC's
/// recursion leaves it.
pub fn subtree_root(src: &dyn SubtreeSource, start: u64, end: u64) -> Result<Hash, Error> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.perfect(n.trailing_zeros(), start / n);
    }
    let k = largest_power_of_two_below(n);
    let left = subtree_root(src, start, start + k)?;
    let right = subtree_root(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The tree head of the first `size` leaves.
pub fn tree_root(src: &dyn SubtreeSource, size: u64) -> Result<Hash, Error> {
    subtree_root(src, 0, size)
}

fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n > 1);
    1u64 << (63 - (n - 1).leading_zeros())
}

fn bad_proof_request(detail: String) -> Error {
    Error::with_detail(ErrorCode::ValidationError, detail)
}

/// The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 PATH), leaf-side
/// first.
pub fn inclusion_proof(src: &dyn SubtreeSource, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
    if index >= size {
        return Err(bad_proof_request(format!(
            "sequence number {index} is not in a log of {size} records"
        )));
    }
    let mut proof = Vec::new();
    path(src, index, 0, size, &mut proof)?;
    Ok(proof)
}

fn path(
    src: &dyn SubtreeSource,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m < start + k {
        path(src, m, start, start + k, out)?;
        out.push(subtree_root(src, start + k, end)?);
    } else {
        path(src, m, start + k, end, out)?;
        out.push(subtree_root(src, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of `old_size` and `new_size` leaves (RFC 6962
/// PROOF).
pub fn consistency_proof(
    src: &dyn SubtreeSource,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, Error> {
    if old_size > new_size {
        return Err(bad_proof_request(format!(
            "a tree of {old_size} records is not a prefix of one of {new_size}"
        )));
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    subproof(src, old_size, 0, new_size, true, &mut proof)?;
    Ok(proof)
}

fn subproof(
    src: &dyn SubtreeSource,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), Error> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(subtree_root(src, start, end)?);
        }
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        subproof(src, m, start, start + k, whole, out)?;
        out.push(subtree_root(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree_root(src, start, start + k)?);
    }
    Ok(())
}

/// Checks an inclusion proof (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Checks a consistency proof (RFC 9162 section 2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    let mut proof: Vec<Hash> = proof.to_vec();
    if old_size.is_power_of_two() {
        proof.insert(0, *old_root);
    }
    let Some((first, rest)) = proof.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
}

/// A streaming tree head: push leaves in order, read the head of what was pushed (O(log n)
/// memory; how `verify` recomputes the head of a million records in one pass).
#[derive(Debug, Default, Clone)]
pub struct RootBuilder {
    /// Perfect subtrees, largest first: (level, hash).
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl RootBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_subtree(0, leaf);
        self.size += 1;
    }

    /// Appends a perfect subtree of `2^level` leaves (only valid when the size so far is a
    /// multiple of `2^level`).
    pub fn push_perfect(&mut self, level: u32, hash: Hash) {
        self.push_subtree(level, hash);
        self.size += 1u64 << level;
    }

    fn push_subtree(&mut self, level: u32, hash: Hash) {
        let mut cur = (level, hash);
        while let Some(&(top_level, top)) = self.stack.last() {
            if top_level != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (cur.0 + 1, node_hash(&top, &cur.1));
        }
        self.stack.push(cur);
    }

    /// The head of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return empty_root();
        };
        for (_, h) in iter {
            acc = node_hash(h, &acc);
        }
        acc
    }
}
