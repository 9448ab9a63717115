//! Arithmetic in GF(2^8) and the small matrix algebra the codec needs.
//!
//! The field is GF(2)[x] / (x^8 + x^4 + x^3 + x^2 + 1), i.e. the reducing polynomial 0x11D
//! with generator 2. It is the field of ISA-L, klauspost/reedsolomon, Backblaze and most
//! storage Reed-Solomon codes, so our parity can be cross-checked against theirs.
//!
//! All tables are built at compile time: no lazy initialisation, no locks.

/// The reducing polynomial (with the x^8 term).
pub const POLY: u16 = 0x11D;

/// `EXP[i] = 2^i`, doubled in length so `EXP[log a + log b]` needs no modulo.
static EXP: [u8; 512] = build_exp();
/// `LOG[a]` for a != 0 (`LOG[0]` is unused and 0).
static LOG: [u8; 256] = build_log();
/// `MUL[a][b] = a * b`: 64 KiB, used by the portable kernel (one lookup per byte).
pub static MUL: [[u8; 256]; 256] = build_mul();

const fn build_exp() -> [u8; 512] {
    let mut t = [0u8; 512];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        t[i] = x as u8;
        t[i + 255] = x as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLY;
        }
        i += 1;
    }
    // 2^510 and 2^511 are never indexed by mul (max log sum is 508) but keep them sane.
    t[510] = t[0];
    t[511] = t[1];
    t
}

const fn build_log() -> [u8; 256] {
    let exp = build_exp();
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        t[exp[i] as usize] = i as u8;
        i += 1;
    }
    t
}

const fn build_mul() -> [[u8; 256]; 256] {
    let exp = build_exp();
    let log = build_log();
    let mut t = [[0u8; 256]; 256];
    let mut a = 1;
    while a < 256 {
        let mut b = 1;
        while b < 256 {
            t[a][b] = exp[log[a] as usize + log[b] as usize];
            b += 1;
        }
        a += 1;
    }
    t
}

/// a * b in GF(2^8).
#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    MUL[a as usize][b as usize]
}

/// Multiplicative inverse; `inv(0)` is defined as 0 (callers never divide by zero).
#[inline]
pub fn inv(a: u8) -> u8 {
    if a == 0 {
        0
    } else {
        EXP[255 - LOG[a as usize] as usize]
    }
}

/// A dense row-major matrix over GF(2^8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<u8>,
}

impl Matrix {
    pub fn zero(rows: usize, cols: usize) -> Matrix {
        Matrix {
            rows,
            cols,
            data: vec![0; rows * cols],
        }
    }

    pub fn identity(n: usize) -> Matrix {
        let mut m = Matrix::zero(n, n);
        for i in 0..n {
            m.set(i, i, 1);
        }
        m
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    #[inline]
    pub fn get(&self, r: usize, c: usize) -> u8 {
        self.data[r * self.cols + c]
    }

    #[inline]
    pub fn set(&mut self, r: usize, c: usize, v: u8) {
        self.data[r * self.cols + c] = v;
    }

    pub fn row(&self, r: usize) -> &[u8] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// The parity part of the encoding matrix (MATRIX_ID 1): an m x k Cauchy matrix
    /// `P[i][j] = 1 / ((k + i) xor j)`.
    ///
    /// The x values {k..k+m} and y values {0..k} are disjoint, so `x xor y` is never 0, and
    /// every square submatrix of a Cauchy matrix is invertible; hence every k x k submatrix
    /// of [I; P] is invertible (any k surviving shards decode). This is the matrix of ISA-L's
    /// `gf_gen_cauchy1_matrix` and of klauspost/reedsolomon's `WithCauchyMatrix()`.
    pub fn cauchy_parity(k: usize, m: usize) -> Matrix {
        let mut p = Matrix::zero(m, k);
        for i in 0..m {
            for j in 0..k {
                // k + m <= 256 is checked by the caller, so (k + i) fits in a u8.
                p.set(i, j, inv(((k + i) ^ j) as u8));
            }
        }
        p
    }

    /// self (r x n) times other (n x c).
    #[cfg(test)]
    pub fn mul(&self, other: &Matrix) -> Matrix {
        debug_assert_eq!(self.cols, other.rows);
        let mut out = Matrix::zero(self.rows, other.cols);
        for r in 0..self.rows {
            for c in 0..other.cols {
                let mut acc = 0u8;
                for i in 0..self.cols {
                    acc ^= mul(self.get(r, i), other.get(i, c));
                }
                out.set(r, c, acc);
            }
        }
        out
    }

    /// Inverse by Gauss-Jordan elimination; None if singular (or not square).
    pub fn invert(&self) -> Option<Matrix> {
        if self.rows != self.cols {
            return None;
        }
        let n = self.rows;
        let mut a = self.clone();
        let mut b = Matrix::identity(n);
        for col in 0..n {
            let pivot = (col..n).find(|&r| a.get(r, col) != 0)?;
            a.swap_rows(col, pivot);
            b.swap_rows(col, pivot);
            let scale = inv(a.get(col, col));
            a.scale_row(col, scale);
            b.scale_row(col, scale);
            for r in 0..n {
                let f = a.get(r, col);
                if r != col && f != 0 {
                    a.add_scaled_row(r, col, f);
                    b.add_scaled_row(r, col, f);
                }
            }
        }
        Some(b)
    }

    fn swap_rows(&mut self, r1: usize, r2: usize) {
        if r1 != r2 {
            for c in 0..self.cols {
                self.data.swap(r1 * self.cols + c, r2 * self.cols + c);
            }
        }
    }

    fn scale_row(&mut self, r: usize, f: u8) {
        for c in 0..self.cols {
            let v = mul(self.get(r, c), f);
            self.set(r, c, v);
        }
    }

    /// row[dst] += f * row[src]
    fn add_scaled_row(&mut self, dst: usize, src: usize, f: u8) {
        for c in 0..self.cols {
            let v = self.get(dst, c) ^ mul(self.get(src, c), f);
            self.set(dst, c, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Carry-less multiply with reduction, bit by bit: an independent reference.
    fn slow_mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0u8;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= (POLY & 0xff) as u8;
            }
            b >>= 1;
        }
        p
    }

    #[test]
    fn mul_table_matches_bitwise() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow_mul(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn inverses() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "inv({a})");
        }
    }

    #[test]
    fn cauchy_submatrices_invert() {
        let (k, m) = (6, 4);
        let p = Matrix::cauchy_parity(k, m);
        // Rows of [I; P] for shards {2,3,4,5,6,7}: 4 data rows + 2 parity rows.
        let mut sub = Matrix::zero(k, k);
        let picks = [2usize, 3, 4, 5, 6, 7];
        for (r, &s) in picks.iter().enumerate() {
            for c in 0..k {
                let v = if s < k {
                    u8::from(s == c)
                } else {
                    p.get(s - k, c)
                };
                sub.set(r, c, v);
            }
        }
        let inv = sub.invert().expect("invertible");
        assert_eq!(sub.mul(&inv), Matrix::identity(k));
    }
}
