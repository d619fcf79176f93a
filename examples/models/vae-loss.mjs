// A variational autoencoder's loss: encoder to (mu, log variance), reparameterized sample with a
// given noise eps, sigmoid decoder, binary cross-entropy reconstruction plus the Gaussian KL term.
//
//   npx gradc inspect examples/models/vae-loss.mjs

import { ops } from "gradc";

const N = 32,
  D = 64,
  H = 32,
  Z = 8;

function loss({ x, eps, We, be, Wmu, bmu, Wlv, blv, Wd, bd }) {
  const h = ops.affine(x, We, be).tanh();
  const mu = ops.affine(h, Wmu, bmu),
    logvar = ops.affine(h, Wlv, blv);
  const z = mu.add(logvar.mul(0.5).exp().mul(eps));
  const p = ops.sigmoid(ops.affine(z, Wd, bd));
  const bce = x
    .mul(p.log())
    .add(x.neg().add(1).mul(p.neg().add(1).log()))
    .sum()
    .neg();
  const kl = logvar.add(1).sub(mu.square()).sub(logvar.exp()).sum().mul(-0.5);
  return bce.add(kl).div(N);
}

export default {
  inputs: { x: [N, D], eps: [N, Z], We: [D, H], be: [H], Wmu: [H, Z], bmu: [Z], Wlv: [H, Z], blv: [Z], Wd: [Z, D], bd: [D] },
  fn: loss,
  wrt: ["We", "be", "Wmu", "bmu", "Wlv", "blv", "Wd", "bd"],
};
