//! Double-double numbers: a value as an unevaluated sum `hi + lo` of two doubles, about 32
//! significant digits. The implied-volatility path keeps the forward, the discount factor and
//! the time value in this form, so that rounding them to doubles costs nothing against the
//! price's own rounding (docs/processing.md, "Exactness").
//!
//! Only error-free sums and products (Knuth's two-sum, a fused multiply-add two-product),
//! division, square root and `e^x − 1` are needed, so they are written here rather than
//! taken from a general double-double crate: these few lines are easier to check than a
//! dependency, and the one transcendental function is a plain series.

/// `1/n` for the series of `e^x`.
const RECIPROCALS: [f64; 18] = {
    let mut r = [0.0; 18];
    let mut n = 1;
    while n < 18 {
        r[n] = 1.0 / n as f64;
        n += 1;
    }
    r
};

/// `hi + lo` with `|lo| ≤ ulp(hi)/2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dd {
    pub hi: f64,
    pub lo: f64,
}

impl Dd {
    pub const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };

    pub const fn new(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    /// The nearest double.
    pub fn value(self) -> f64 {
        self.hi + self.lo
    }

    /// `a + b` exactly (Knuth's two-sum).
    pub fn sum(a: f64, b: f64) -> Dd {
        let hi = a + b;
        let bb = hi - a;
        let lo = (a - (hi - bb)) + (b - bb);
        Dd { hi, lo }
    }

    /// `a · b` exactly, by fused multiply-add.
    pub fn product(a: f64, b: f64) -> Dd {
        let hi = a * b;
        Dd {
            hi,
            lo: a.mul_add(b, -hi),
        }
    }

    fn renormalise(hi: f64, lo: f64) -> Dd {
        let s = hi + lo;
        Dd {
            hi: s,
            lo: lo - (s - hi),
        }
    }

    pub fn add(self, other: Dd) -> Dd {
        let s = Dd::sum(self.hi, other.hi);
        Dd::renormalise(s.hi, s.lo + self.lo + other.lo)
    }

    pub fn sub(self, other: Dd) -> Dd {
        self.add(other.neg())
    }

    pub fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }

    pub fn mul(self, other: Dd) -> Dd {
        let p = Dd::product(self.hi, other.hi);
        Dd::renormalise(p.hi, p.lo + (self.hi * other.lo + self.lo * other.hi))
    }

    pub fn mul_f64(self, b: f64) -> Dd {
        let p = Dd::product(self.hi, b);
        Dd::renormalise(p.hi, p.lo + self.lo * b)
    }

    /// `self / other`, one correction step after the double quotient.
    pub fn div(self, other: Dd) -> Dd {
        let q = self.hi / other.hi;
        // The remainder self − q·other, exact to the working precision.
        let r = self.sub(other.mul_f64(q));
        Dd::renormalise(q, r.hi / other.hi)
    }

    /// The square root, one Newton step after the double root.
    pub fn sqrt(self) -> Dd {
        let s = self.hi.sqrt();
        let r = self.sub(Dd::product(s, s));
        Dd::renormalise(s, r.hi / (2.0 * s))
    }

    /// `self / n` for a small whole number `n`, rounded to double-double.
    fn div_small(self, n: f64) -> Dd {
        let hi = self.hi / n;
        let r = (-hi).mul_add(n, self.hi) + self.lo;
        Dd::renormalise(hi, r / n)
    }

    /// `e^x − 1`, to about 2^-68 relative: the series on `x / 2^m` (at most 1/16 in size),
    /// its first three terms in double-double and the rest, below `x^4/24`, in doubles; then
    /// `m` doublings by `e^(2y) − 1 = (e^y − 1)(e^y − 1 + 2)`. libm's `exp_m1` alone would
    /// leave half an ulp of the result, `|x|·2^-53`: for a month at 4 %, far more than
    /// deciding a price one ulp below the floor allows.
    pub fn exp_m1(self) -> Dd {
        let mut m = 0;
        let mut y = self;
        while y.hi.abs() > 1.0 / 16.0 && m < 64 {
            y = Dd {
                hi: y.hi / 2.0,
                lo: y.lo / 2.0,
            };
            m += 1;
        }
        let square = y.mul(y);
        let cube = square.mul(y);
        let head = y
            .add(Dd {
                hi: square.hi / 2.0,
                lo: square.lo / 2.0,
            })
            .add(cube.div_small(6.0));
        // y^4/24 · (1 + y/5 · (1 + y/6 · (...))): relative to the result at most
        // (1/16)^3/24, so its doubles' rounding stays below 2^-68 of it.
        let mut tail = 1.0f64;
        for n in (5..=17).rev() {
            tail = tail.mul_add(y.hi * RECIPROCALS[n], 1.0);
        }
        let mut sum = head.add(Dd::new(cube.hi * y.hi / 24.0 * tail));
        for _ in 0..m {
            sum = sum.mul(sum.add(Dd::new(2.0)));
        }
        sum
    }

    pub fn is_negative(self) -> bool {
        self.hi < 0.0 || (self.hi == 0.0 && self.lo < 0.0)
    }
}

/// `ln(a / b)` for positive doubles, with an absolute error of about libm's half ulp of the
/// result: near 1 the ratio's distance from 1 is formed exactly and goes through `ln_1p`.
pub fn ln_ratio(a: f64, b: f64) -> f64 {
    let q = a / b;
    if (0.5..=2.0).contains(&q) {
        // a − b is exact here (Sterbenz), so u = (a − b)/b carries only the division's error,
        // which the remainder recovers.
        let d = a - b;
        let u = d / b;
        let u_lo = (-u).mul_add(b, d) / b;
        u.ln_1p() + u_lo / (1.0 + u)
    } else {
        let q_lo = (-q).mul_add(b, a) / b;
        q.ln() + q_lo / q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_sum_and_two_product_are_exact() {
        let s = Dd::sum(1.0, 1e-20);
        assert_eq!((s.hi, s.lo), (1.0, 1e-20));
        let p = Dd::product(1.0 + f64::EPSILON, 1.0 + f64::EPSILON);
        assert_eq!(p.hi, 1.0 + 2.0 * f64::EPSILON);
        assert_eq!(p.lo, f64::EPSILON * f64::EPSILON);
    }

    #[test]
    fn division_and_root_recover_what_doubles_lose() {
        // 1/3 · 3 = 1 to double-double precision.
        let third = Dd::ONE.div(Dd::new(3.0));
        let back = third.mul_f64(3.0).sub(Dd::ONE);
        assert!(back.value().abs() < 1e-31, "{back:?}");
        let root = Dd::new(2.0).sqrt();
        let square = Dd::product(root.hi, root.hi)
            .add(Dd::new(2.0 * root.hi * root.lo))
            .sub(Dd::new(2.0));
        assert!(square.value().abs() < 1e-31, "{square:?}");
    }

    #[test]
    fn exp_m1_to_double_double_precision() {
        // e^x − 1 = hi + lo, with lo from mpmath at 50 digits.
        for (x, hi, lo) in [
            (0.5, 0.648_721_270_700_128_2, -4.731_568_479_435_833e-17),
            (
                -0.0123,
                -0.012_224_664_193_146_95,
                -2.025_284_016_896_506_2e-19,
            ),
        ] {
            let got = Dd::new(x).exp_m1();
            let err = got.sub(Dd { hi, lo: 0.0 }).value() - lo;
            assert!(err.abs() < 4e-21 * hi.abs(), "e^{x} − 1: off by {err:e}");
        }
    }

    #[test]
    fn exp_m1_of_a_small_double_double() {
        // e^(1e-3 + 1e-20) − 1, from the series to 1e-32.
        let x = Dd {
            hi: 1e-3,
            lo: 1e-20,
        };
        let series = {
            let mut term = 1.0f64;
            let mut sum = 0.0f64;
            for n in 1..12 {
                term *= 1e-3 / f64::from(n);
                sum += term;
            }
            sum
        };
        let got = x.exp_m1();
        assert!((got.hi - series).abs() <= f64::EPSILON * series);
        assert!(got.lo != 0.0);
    }

    #[test]
    fn ln_ratio_near_one_keeps_its_digits() {
        // ln(a) for a just above 1: a − 1 is exact, and the series gives the logarithm to
        // far below an ulp of the result; ln(a) of the double a alone would be off by an ulp
        // of 1, a relative error near 1e-7 here.
        let a = 1.000_000_001f64;
        let u = a - 1.0;
        let exact = u - u * u / 2.0;
        let got = ln_ratio(a, 1.0);
        assert!((got - exact).abs() <= f64::EPSILON * exact, "{got} {exact}");
        assert!((ln_ratio(300.0, 100.0) - 3.0f64.ln()).abs() <= f64::EPSILON * 1.1);
        assert_eq!(ln_ratio(7.0, 7.0), 0.0);
    }
}
