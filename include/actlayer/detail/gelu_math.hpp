// actlayer/detail/gelu_math.hpp — the double-precision math under the two GELUs (ops.cuh's Gelu
// and GeluTanh; float, half and bfloat16 data are computed in it too and rounded once). Host and
// device. It calls no erf or erfc: CUDA documents its double erfc within several ulp and glibc's
// reaches 4, either of which would use GELU's whole 4-ulp budget by itself; and erfc(z/sqrt 2)
// of a rounded z/sqrt 2 has a relative error growing like z^2 2^-53 (1,500 ulp at z = -38).
//
// GELU (erf form). Phi and phi are the standard normal CDF and density, y = |z|, and
//   m(y) = e^(y^2/2) Phi(-y) = Mills ratio / sqrt(2 pi)
// is smooth and slowly varying (1/2 at 0, ~1/(y sqrt(2 pi)) for large y): polynomials fit it to
// 2^-58 (tools/gelu_fits.py). With e^(-y^2/2) evaluated from the exactly split square
// (times_gauss), no argument of an exp carries a rounding error that the exp amplifies:
//   z < 0:    gelu(z)  = z m(y) e^(-y^2/2)                  (tiny: full relative accuracy)
//   z >= 0:   gelu(z)  = z - z m(z) e^(-z^2/2)              (Phi(-z) <= 1/2: no cancellation)
//   gelu'(z) = Phi(z) + z phi(z) = [z >= 0] - sign(z) e^(-y^2/2) d(y),  d(y) = y/sqrt(2 pi) - m(y)
// d has a root at y0 = 0.7518 (so gelu'(-y0) = 0): near it d = (y - y0) q(y), q fitted and y0
// split in two doubles, so gelu' keeps its relative accuracy through its zero crossing.
//
// GELU (tanh form): gelu_tanh(z) = z (1 + tanh(W/2))/2 = z sigma(W), with
// W = 2 sqrt(2/pi) (z + 0.044715 z^3) evaluated in double-double (e^W amplifies its rounding
// like the erfc argument's), and
//   gelu_tanh'(z) = sigma(W) B(z),  B = 1 + z W'(z) sigma(-W),  z W' = 2 sqrt(2/pi) (z + 3 0.044715
//   z^3)
// where B has a root at z1 = -0.7525: on [-1.6, 0], B = (z - z1) qt(z), qt fitted.
//
// The saturated tails: products with e^(-c) for a large c go through Cody-Waite exponent
// arithmetic (times_gauss, mul_exp_neg), so that dy times a derivative that underflows keeps
// dy's precision, and results are rounded once into the subnormals.
//
// Everything here is in namespace detail::dd (double-double and the math built on it), apart
// from the other ops' helpers in detail.
#pragma once

#include <cmath>

#include "actlayer/detail/config.hpp"
#include "actlayer/detail/math.hpp"

namespace actlayer::ops::detail::dd {

/// An unevaluated sum hi + lo.
struct TwoDouble {
  double hi;
  double lo;
};
/// a * b = hi + lo exactly (unless the product underflows).
ACTLAYER_HD TwoDouble two_product(double a, double b) {
  const double p = a * b;
  return {p, ::fma(a, b, -p)};
}
/// a + b = hi + lo exactly (Knuth's TwoSum).
ACTLAYER_HD TwoDouble two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}
/// 1 / (a.hi + a.lo) to about 0.5 ulp: q = 1/hi corrected by its exact residual 1 - q hi.
ACTLAYER_HD double reciprocal(TwoDouble a) {
  const double q = 1.0 / a.hi;
  return ::fma(q, ::fma(-q, a.hi, 1.0) - q * a.lo, q);
}

/// c0 + t (c1 + t (c2 + ...)), each step one fma.
ACTLAYER_HD double horner(double, double c0) { return c0; }
template <class... C>
ACTLAYER_HD double horner(double t, double c0, double c1, C... rest) {
  return ::fma(horner(t, c1, rest...), t, c0);
}
/// (c0_hi + c0_lo) + t (c1 + t (c2 + ...)) as hi + lo: the last step exact, so the rounding of
/// the constant term and of the last additions does not reach the result (about 0.3 ulp for
/// |t c1| <= c0/4).
template <class... C>
ACTLAYER_HD TwoDouble horner_dd(double t, double c0_hi, double c0_lo, C... rest) {
  const TwoDouble p = two_product(horner(t, rest...), t);
  const TwoDouble s = two_sum(c0_hi, p.hi);
  return {s.hi, s.lo + (p.lo + c0_lo)};
}

inline constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 bits: n ln2_hi is exact
inline constexpr double kLn2Lo = 1.90821492927058770002e-10;

/// dy * (k.hi + k.lo) * e^-(c.hi + c.lo) for 0 <= c, to about 1 ulp (the exp's error and one
/// rounding) however small e^-c is: c.hi = n ln2 + r (Cody-Waite), e^-(r + c.lo) by one exp of
/// a small argument, dy's exponent and n applied by ldexp (exact, or one rounding into the
/// subnormals). A finite dy; an infinite k.hi * dy overflows to inf as it should.
ACTLAYER_HD double times_exp_neg(double dy, TwoDouble k, TwoDouble c) {
  if (!(c.hi <= 1500.0)) return dy * 0.0;  // below every subnormal for every finite dy and k
  if (dy == 0.0) return dy * k.hi;         // the sign of the product (the sums below lose it)
  const double n = ::rint(c.hi * 1.4426950408889634);
  const double r = ((c.hi - n * kLn2Hi) - n * kLn2Lo) + c.lo;
  int e = 0;
  const double mantissa = ::frexp(dy, &e);
  const TwoDouble p = two_product(mantissa, k.hi);
  const double x = ::exp(-r);
  return ::ldexp(::fma(p.hi, x, ::fma(mantissa, k.lo, p.lo) * x), e - static_cast<int>(n));
}

/// dy * (k.hi + k.lo) * e^(-z^2/2) for finite z: z^2 = s.hi + s.lo exactly, so that the
/// rounding of the square does not reach the exp.
ACTLAYER_HD double times_gauss(double dy, TwoDouble k, double z) {
  const TwoDouble s = two_product(z, z);
  return times_exp_neg(dy, k, {0.5 * s.hi, 0.5 * s.lo});
}

/// (a.hi + a.lo) * b as hi + lo (to about 2^-104).
ACTLAYER_HD TwoDouble times_two(TwoDouble a, double b) {
  const TwoDouble p = two_product(a.hi, b);
  return {p.hi, ::fma(a.lo, b, p.lo)};
}
/// (a.hi + a.lo) * (b.hi + b.lo) as hi + lo (to about 2^-104).
ACTLAYER_HD TwoDouble times_two(TwoDouble a, TwoDouble b) {
  const TwoDouble p = two_product(a.hi, b.hi);
  return {p.hi, p.lo + ::fma(a.hi, b.lo, a.lo * b.hi)};
}
/// (a.hi + a.lo) * b, rounded once (an infinite b: a.hi * b).
ACTLAYER_HD double times(TwoDouble a, double b) {
  return math::is_inf(b) ? a.hi * b : ::fma(a.hi, b, a.lo * b);
}
/// (v.hi + v.lo) / 6 as q + r, q = hi/6 and r from q's exact residual (to about 2^-100).
ACTLAYER_HD TwoDouble div6(TwoDouble v) {
  const double q = v.hi / 6.0;
  return {q, (::fma(-q, 6.0, v.hi) + v.lo) / 6.0};
}
/// (a.hi + a.lo) - b as hi + lo.
ACTLAYER_HD TwoDouble minus(TwoDouble a, TwoDouble b) {
  const TwoDouble s = two_sum(a.hi, -b.hi);
  return {s.hi, s.lo + (a.lo - b.lo)};
}

// ---- generated by tools/gelu_fits.py (begin) ----------------------------------------------

/// y0 = 0.7517915246935644574579049 = 0.7517915246935645 + -1.4956759177009883e-17
inline constexpr TwoDouble kMillsGapRoot = {0.7517915246935645, -1.4956759177009883e-17};
/// 1/sqrt(2 pi) = 0.3989422804014326779399461 = 0.3989422804014327 + -2.49232720227773e-17
inline constexpr TwoDouble kInvSqrt2Pi = {0.3989422804014327, -2.49232720227773e-17};
/// 2 sqrt(2/pi) = 1.595769121605730711759784 = 1.5957691216057308 + -9.96930880911092e-17
inline constexpr TwoDouble kGeluTanhA = {1.5957691216057308, -9.96930880911092e-17};
/// 0.044715 = 0.044715 = 0.044715 + 2.1960211427085595e-18
inline constexpr TwoDouble kGeluTanhKappa = {0.044715, 2.1960211427085595e-18};
/// 3 * 0.044715 = 0.134145 = 0.134145 + 1.3526957332032908e-17
inline constexpr TwoDouble kGeluTanhKappa3 = {0.134145, 1.3526957332032908e-17};
/// z1 = -0.7524614220710162584879544 = -0.7524614220710163 + 3.635560509207687e-17
inline constexpr TwoDouble kGeluTanhBracketRoot = {-0.7524614220710163, 3.635560509207687e-17};

/// m(y) = e^(y^2/2) Phi(-y) for 0 <= y < 6.
ACTLAYER_HD TwoDouble mills_fit(double y) {
  if (y < 0.75) {
    const double t = y - 0.375;
    // m on [0.0, 0.75], t = x - 0.375: degree 16, relative error 8.1e-21
    return horner_dd(t, 0.37960442786885923, 9.35640784404466e-18, -0.25659061995061044,
                     0.14169147269369015, -0.06781877256349225, 0.02906485824559515,
                     -0.011383890144275348, 0.00413264990691433, -0.0014048780614667835,
                     0.00045072757927470486, -0.00013731724290646716, 3.992336036482387e-05,
                     -1.1122411511243238e-05, 2.9793838561444345e-06, -7.692476110183508e-07,
                     1.9211407660104262e-07, -4.8019727643851235e-08, 1.125943535289725e-08);
  }
  if (y < 1.5) {
    const double t = y - 1.125;
    // m on [0.75, 1.5], t = x - 1.125: degree 15, relative error 1.7e-20
    return horner_dd(t, 0.24533138893179401, -1.3748581246274368e-17, -0.12294446785316443,
                     0.05350943129849201, -0.02091545254745364, 0.007494886795651228,
                     -0.0024967409804690114, 0.0007810088654622454, -0.0002311580009840694,
                     6.511951359624913e-05, -1.7544282899444722e-05, 4.538230128182689e-06,
                     -1.1308009257587464e-06, 2.720841929489033e-07, -6.341269148562889e-08,
                     1.4728769946118789e-08, -3.233250588341922e-09);
  }
  if (y < 3.0) {
    const double t = y - 2.25;
    // m on [1.5, 3.0], t = x - 2.25: degree 18, relative error 1.5e-20
    return horner_dd(t, 0.15365193742384164, -5.693933548426739e-18, -0.05322542119778899,
                     0.016947369864408205, -0.005031279667623505, 0.0014067476530638266,
                     -0.00037321948964611575, 9.450063356008561e-05, -2.2941866303185637e-05,
                     5.360179296360392e-06, -1.2090514468268302e-06, 2.6398136003672234e-07,
                     -5.591751264555024e-08, 1.1513888708050543e-08, -2.308744721523517e-09,
                     4.5143400802722825e-10, -8.589866238955005e-11, 1.6040931337801826e-11,
                     -3.1988787325238974e-12, 5.708848379056651e-13);
  }
  const double t = y - 4.5;
  // m on [3.0, 6.0], t = x - 4.5: degree 20, relative error 1.9e-19
  return horner_dd(
      t, 0.08480339210780034, 4.2695939551923514e-18, -0.017327015916331113, 0.0034159102421551677,
      -0.0006518066088776243, 0.00012069512555147035, -2.1735708779157515e-05,
      3.8140726741716413e-06, -6.531973923921513e-07, 1.0933555118482402e-07,
      -1.790971198003601e-08, 2.8741844556025955e-09, -4.523535892776901e-10, 6.988312011204578e-11,
      -1.0605492172393514e-11, 1.5824618542678377e-12, -2.32655700484278e-13, 3.361721456690768e-14,
      -4.659220742017917e-15, 6.545656927611637e-16, -1.154541408073377e-16, 1.566652174913797e-17);
}

/// y m(y) for y >= 6, in t = 1/y^2.
ACTLAYER_HD TwoDouble mills_tail_fit(double y) {
  const double t = 1.0 / (y * y);
  // g on [0.0, 0.027777777777777776], t = x - 0.0: degree 15, relative error 7.4e-20
  return horner_dd(t, 0.3989422804014327, -2.495237328358636e-17, -0.39894228040143215,
                   1.1968268412026428, -5.984134203993748, 41.88893812921793, -376.99993709016195,
                   4146.869677880175, -53886.34033823463, 805389.194987579, -13423926.28500423,
                   236945626.0646664, -4077288472.7237573, 61475265548.16657, -718615147346.1202,
                   5558038529141.639, -20804499933896.316);
}

/// q(y) = (y/sqrt(2 pi) - m(y)) / (y - y0) for 0 <= y <= 1.5.
ACTLAYER_HD TwoDouble mills_gap_quotient_fit(double y) {
  if (y < 0.75) {
    const double t = y - 0.375;
    // q on [0.0, 0.75], t = x - 0.375: degree 15, relative error 2.1e-20
    return horner_dd(t, 0.6104199740304042, -4.8388127357432035e-17, -0.11972914294802225,
                     0.058287748811572525, -0.02529521798472261, 0.010004578165439704,
                     -0.003660676762725064, 0.0012526108293058793, -0.0004041153320065235,
                     0.00012370831959101635, -3.611791535528096e-05, 1.009964032940903e-05,
                     -2.7143952537329705e-06, 7.029665258500658e-07, -1.760357065134156e-07,
                     4.4030167394061023e-08, -1.034826921438017e-08);
  }
  const double t = y - 1.125;
  // q on [0.75, 1.5], t = x - 1.125: degree 14, relative error 3.8e-20
  return horner_dd(t, 0.545214511414149, 3.641654036176894e-17, -0.06250598446457542,
                   0.024105972295233855, -0.008548894140628661, 0.0028241784812409413,
                   -0.0008773581588914659, 0.00025816480550457023, -7.236385590828348e-05,
                   1.9410979571470507e-05, -5.00176198003746e-06, 1.2420247605597363e-06,
                   -2.979387220088111e-07, 6.924428313946085e-08, -1.6013432426793434e-08,
                   3.5074142194603703e-09);
}

/// qt(z) = B(z) / (z - z1) for -1.6 <= z <= 0.
ACTLAYER_HD TwoDouble gelu_tanh_bracket_quotient_fit(double z) {
  if (z < -0.75) {
    const double t = z + 1.175;
    // qt on [-1.6, -0.75], t = x - -1.175: degree 16, relative error 5.9e-20
    return horner_dd(t, 2.260692169921022, 5.153006779609675e-18, -0.8704126364166852,
                     0.07041832417296, -0.01643557537342142, 0.01090817090792437,
                     0.0012648384983697896, -0.0012748528738342334, -0.00012491527892008589,
                     0.00015676566781101973, 2.6350378085687233e-05, -1.788227400887019e-05,
                     -6.396090251919524e-06, 1.3578651469281492e-06, 1.1115891982087454e-06,
                     2.7837946425785527e-09, -1.334042817501444e-07, -1.8693044408604447e-08);
  }
  const double t = z + 0.375;
  // qt on [-0.75, 0.0], t = x - -0.375: degree 16, relative error 8.0e-21
  return horner_dd(t, 1.6055643485924669, 8.220989418228477e-17, -0.7668314425894256,
                   0.07182764791039328, 0.014619850000184356, 0.005848881794453819,
                   -0.0025098984225218504, 9.667435056471444e-05, 0.00022640942705215447,
                   -0.00014477520458157253, -3.0170933363643377e-05, 3.057369829377894e-05,
                   5.476356137067e-06, -4.534217448928775e-06, -8.88096192547042e-07,
                   5.597912772938371e-07, 1.0705936200513247e-07, -5.849389238655641e-08);
}

// ---- generated by tools/gelu_fits.py (end) ------------------------------------------------

/// (x - (root.hi + root.lo)) * (q.hi + q.lo) as hi + lo.
ACTLAYER_HD TwoDouble times_distance(double x, TwoDouble root, TwoDouble q) {
  const TwoDouble h = two_sum(x, -root.hi);
  const double h_lo = h.lo - root.lo;  // x - root = h.hi + h_lo
  const TwoDouble p = two_product(h.hi, q.hi);
  return {p.hi, p.lo + ::fma(h.hi, q.lo, h_lo * q.hi)};
}

/// d(y) = y/sqrt(2 pi) - m(y) for finite y >= 0 (< 0 below y0, > 0 above) as hi + lo, with its
/// relative accuracy through the root y0.
ACTLAYER_HD TwoDouble mills_gap(double y) {
  if (y <= 1.5) return times_distance(y, kMillsGapRoot, mills_gap_quotient_fit(y));
  const TwoDouble m = y < 6.0 ? mills_fit(y) : TwoDouble{mills_tail_fit(y).hi / y, 0.0};
  return minus(times_two(kInvSqrt2Pi, y), m);
}

/// gelu(z) = z Phi(z) in double.
ACTLAYER_HD double gelu_erf(double z) {
  if (z != z) return z;
  if (z > 0.0) {
    if (z > 40.0) return z;  // Phi(z) = 1 - 4e-350 (and +inf)
    const TwoDouble m = z < 6.0 ? mills_fit(z) : TwoDouble{mills_tail_fit(z).hi / z, 0.0};
    return ::fma(-z, times_gauss(1.0, m, z), z);  // z - z Phi(-z)
  }
  const double y = -z;
  if (y > 60.0) return -0.0;  // z Phi(z) below the smallest subnormal (and -inf)
  return y < 6.0 ? times_gauss(z, mills_fit(y), y) : times_gauss(-1.0, mills_tail_fit(y), y);
}

/// dy * gelu'(z) in double, gelu'(z) = Phi(z) + z phi(z). NaN propagates; -inf is flat (+0); an
/// infinite dy gives an infinite dx (gelu' != 0 at every finite z: its root is irrational).
ACTLAYER_HD double gelu_erf_grad(double z, double dy) {
  if (z != z || dy != dy) return z + dy;
  if (z >= 0.0) {
    if (z > 40.0 || math::is_inf(dy)) return dy;  // 1 + 1e-340 (and +inf); gelu' > 0 here
    return ::fma(dy, times_gauss(1.0, mills_gap(z), z), dy);
  }
  if (math::is_inf(z)) return 0.0;
  const double y = -z;
  if (y > 60.0) return math::is_inf(dy) ? -dy : -dy * 0.0;  // gelu'(z) < 0, below e^-1800
  const TwoDouble d = mills_gap(y);
  if (math::is_inf(dy)) return d.hi > 0.0 ? -dy : dy;
  return times_gauss(-dy, d, y);
}

/// W = 2 sqrt(2/pi) (z + 0.044715 z^3) and z W'(z) = 2 sqrt(2/pi) (z + 3 0.044715 z^3), each as
/// hi + lo to about 2^-100, for |z| <= 30.
struct GeluTanhArgs {
  TwoDouble w;
  TwoDouble zdw;
};
ACTLAYER_HD TwoDouble gelu_tanh_poly(double z, TwoDouble z3, TwoDouble k) {
  const TwoDouble t = two_product(k.hi, z3.hi);
  const double t_lo = t.lo + (k.hi * z3.lo + k.lo * z3.hi);  // k z^3 = t.hi + t_lo
  const TwoDouble s = two_sum(z, t.hi);
  const double s_lo = s.lo + t_lo;  // z + k z^3 = s.hi + s_lo
  const TwoDouble w = two_product(kGeluTanhA.hi, s.hi);
  return {w.hi, w.lo + (kGeluTanhA.hi * s_lo + kGeluTanhA.lo * s.hi)};
}
ACTLAYER_HD GeluTanhArgs gelu_tanh_args(double z) {
  const TwoDouble z2 = two_product(z, z);
  const TwoDouble z3 = two_product(z, z2.hi);
  const TwoDouble cube = {z3.hi, z3.lo + z * z2.lo};
  return {gelu_tanh_poly(z, cube, kGeluTanhKappa), gelu_tanh_poly(z, cube, kGeluTanhKappa3)};
}

/// e^(sign W) as hi + lo: e^(w.lo) = 1 + w.lo.
ACTLAYER_HD TwoDouble exp_two(TwoDouble w, double sign) {
  const double e = ::exp(sign * w.hi);
  return {e, e * (sign * w.lo)};
}
/// 1 / (1 + e) for e = e.hi + e.lo >= 0.
ACTLAYER_HD double one_over_one_plus(TwoDouble e) {
  const TwoDouble s = two_sum(1.0, e.hi);
  return reciprocal({s.hi, s.lo + e.lo});
}
/// gelu_tanh(z) = z sigma(W) in double.
ACTLAYER_HD double gelu_tanh(double z) {
  if (z != z) return z;
  if (z >= 10.0) return z;     // sigma(W) = 1 - 1e-38 (and +inf)
  if (z < -30.0) return -0.0;  // below e^-1900 (and -inf)
  const TwoDouble w = gelu_tanh_args(z).w;
  if (z >= 0.0) return z * one_over_one_plus(exp_two(w, -1.0));
  if (w.hi < -40.0) return times_exp_neg(z, {1.0, 0.0}, {-w.hi, -w.lo});  // 1/(1 + e^W) = 1 - 4e-18
  const TwoDouble e = exp_two(w, 1.0);
  return times(e, z * one_over_one_plus(e));  // z e^W / (1 + e^W)
}

/// dy * gelu_tanh'(z) in double, gelu_tanh'(z) = sigma(W) B(z). Conventions as gelu_erf_grad.
ACTLAYER_HD double gelu_tanh_grad(double z, double dy) {
  if (z != z || dy != dy) return z + dy;
  if (z >= 10.0) return dy;  // 1 + 1e-36 (and +inf)
  if (math::is_inf(z)) return 0.0;
  if (z < -30.0) return math::is_inf(dy) ? -dy : -dy * 0.0;  // gelu_tanh'(z) < 0, below e^-1900
  const GeluTanhArgs a = gelu_tanh_args(z);
  if (z >= 0.0) {
    const TwoDouble e = exp_two(a.w, -1.0);  // e^-W <= 1
    const double s = one_over_one_plus(e);   // sigma(W)
    const double sbar = times(e, s);         // sigma(-W)
    const double b = ::fma(a.zdw.hi, sbar, ::fma(a.zdw.lo, sbar, 1.0));
    return times(times_two(TwoDouble{s, 0.0}, b), dy);
  }
  if (a.w.hi < -40.0) {  // sigma(W) = e^W (1 - 4e-18), sigma(-W) = 1: B = 1 + z W' < 0
    if (math::is_inf(dy)) return -dy;
    const TwoDouble b = two_sum(1.0, a.zdw.hi);
    return times_exp_neg(dy, {b.hi, b.lo + a.zdw.lo}, {-a.w.hi, -a.w.lo});
  }
  const TwoDouble e = exp_two(a.w, 1.0);  // e^W < 1
  const double sbar = one_over_one_plus(e);
  const TwoDouble s = times_two(e, sbar);  // sigma(W)
  if (z >= -1.6) {
    const TwoDouble b = times_distance(z, kGeluTanhBracketRoot, gelu_tanh_bracket_quotient_fit(z));
    return times(times_two(s, b), dy);
  }
  return times(times_two(s, ::fma(a.zdw.hi, sbar, ::fma(a.zdw.lo, sbar, 1.0))), dy);
}

}  // namespace actlayer::ops::detail::dd
