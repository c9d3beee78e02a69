import { describe, expect, it } from 'vitest';
import { chiSquareQuantile, chiSquareSurvival, logGamma, normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions.js';

// Reference values are printed statistical tables (normal, Student t and chi-square critical values).
describe('distribution functions against printed tables', () => {
  it('log-gamma of integers and one half', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
  });

  it('standard normal CDF and quantiles', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 12);
    expect(normalCdf(-1.644853626951472)).toBeCloseTo(0.05, 12);
    expect(normalCdf(-8)).toBeCloseTo(6.22096057427178e-16, 25);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 10);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829303548901, 10);
    expect(normalQuantile(0.0005)).toBeCloseTo(-3.290526731491926, 9);
  });

  it('Student t critical values', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062047, 6);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.2281389, 6);
    expect(studentTQuantile(0.95, 30)).toBeCloseTo(1.6972609, 6);
    expect(studentTQuantile(0.995, 5)).toBeCloseTo(4.0321430, 6);
    expect(studentTCdf(2.2281389, 10)).toBeCloseTo(0.975, 7);
  });

  it('chi-square critical values', () => {
    expect(chiSquareQuantile(0.95, 1)).toBeCloseTo(3.841459, 5);
    expect(chiSquareQuantile(0.999, 1)).toBeCloseTo(10.827566, 5);
    expect(chiSquareQuantile(0.999, 2)).toBeCloseTo(13.815511, 5);
    expect(chiSquareQuantile(0.95, 10)).toBeCloseTo(18.307038, 5);
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(13.815511, 2)).toBeCloseTo(0.001, 7);
  });
});
