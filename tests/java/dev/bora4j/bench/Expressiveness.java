package dev.bora4j.bench;

import dev.bora4j.internal.JavaCppSettings;
import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraInjector;
import dev.bora4j.nn.TrainableAdapter;
import dev.bora4j.train.UpdateRanks;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Expressiveness at equal trainable-parameter budgets: every adapter is fitted to a target
 * update dW* by minimising ||dW - dW*||_F with Adam, where dW is read off the library's own
 * adapter (forward of the identity minus the frozen output), so the fitted function class is
 * exactly the one fine-tuning trains. Targets: a decaying spectrum (sigma_i = exp(-i/16)) and a
 * random Gaussian (full rank), both scaled to ||dW*||_F = 1. Reports the relative Frobenius
 * error, trainable parameters and the numerical rank of the learned dW (singular values above
 * 0.005, the paper's threshold, and above 1e-3 * sigma_max), mean ± std over seeds.
 * Usage: {@code Expressiveness [steps] [seeds]} (defaults 900 and 3); bench/expressiveness.sh.
 */
public final class Expressiveness {

    static final int R = 4;

    record Method(String label, BoraConfig config) {
    }

    record Fit(double relError, long params, int rankAbs, int rankRel) {
    }

    public static void main(String[] args) throws Exception {
        JavaCppSettings.skipResidentMemoryCheck(); // as the command line does
        torch.set_num_threads(1);
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 900;
        int seeds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        long[][] shapes = {{256, 256}, {512, 128}};
        StringBuilder md = new StringBuilder();
        md.append("Fit of a target update dW* (out x in, ||dW*||_F = 1) by each adapter alone, Adam (lr 1e-2, then 1e-3"
                + " for the last third), ").append(steps).append(" steps, ").append(seeds)
                .append(" seeds (target, W0 and init all change with the seed); mean ± std. Rank: singular values of"
                        + " the learned s * dW above 0.005 (abs) and above 1e-3 * sigma_max (rel). BoRA uses the"
                        + " exp Sigma parameterisation; HiRA's W0 is Gaussian with std 1/sqrt(in). The SVD row is the"
                        + " closed-form optimum of LoRA at rank r (Eckart-Young), a check on the Adam fits.\n\n");
        Charts.Bars errorChart = new Charts.Bars();
        Charts.Bars rankChart = new Charts.Bars();
        for (long[] shape : shapes) {
            long out = shape[0], in = shape[1];
            for (String kind : new String[] {"decaying", "random"}) {
                List<Method> methods = methods(out, in);
                double[][] err = new double[methods.size()][seeds];
                double[][] rankAbs = new double[methods.size()][seeds];
                double[][] rankRel = new double[methods.size()][seeds];
                long[] params = new long[methods.size()];
                double[] svdErr = new double[seeds];
                for (int seed = 0; seed < seeds; seed++) {
                    try (PointerScope scope = new PointerScope()) {
                        torch.manual_seed(1000L * seed + out + in);
                        Tensor target = target(kind, out, in);
                        Tensor w0 = torch.randn(out, in).mul(new Scalar(1.0 / Math.sqrt(in)));
                        svdErr[seed] = svdError(target, R);
                        for (int k = 0; k < methods.size(); k++) {
                            torch.manual_seed(7L * seed + k);
                            Fit f = fit(methods.get(k).config(), w0, target, steps);
                            err[k][seed] = f.relError();
                            rankAbs[k][seed] = f.rankAbs();
                            rankRel[k][seed] = f.rankRel();
                            params[k] = f.params();
                            System.out.printf("%dx%d %s seed %d %-28s params %6d  rel.err %.4f  rank %d / %d%n", out,
                                    in, kind, seed, methods.get(k).label(), f.params(), f.relError(), f.rankAbs(),
                                    f.rankRel());
                        }
                    }
                }
                md.append("### dW* ").append(out).append(" x ").append(in).append(", ").append(kind)
                        .append(kind.equals("decaying") ? " spectrum" : " Gaussian (full rank)").append("\n\n");
                md.append("| method | trainable params | rel. Frobenius error | rank (σ > 0.005) | rank (σ > 1e-3 σmax) |\n");
                md.append("|---|---:|---:|---:|---:|\n");
                md.append("| LoRA r=").append(R).append(", truncated SVD (optimum) | ").append((out + in) * R)
                        .append(" | ").append(ResultsSection.meanStd(svdErr, "%.4f")).append(" | ").append(R)
                        .append(" | ").append(R).append(" |\n");
                for (int k = 0; k < methods.size(); k++) {
                    md.append("| ").append(methods.get(k).label()).append(" | ").append(params[k]).append(" | ")
                            .append(ResultsSection.meanStd(err[k], "%.4f")).append(" | ")
                            .append(ResultsSection.meanStd(rankAbs[k], "%.1f")).append(" | ")
                            .append(ResultsSection.meanStd(rankRel[k], "%.1f")).append(" |\n");
                    String series = out + "x" + in + " " + kind;
                    errorChart.add(series, methods.get(k).label(), ResultsSection.mean(err[k]), ResultsSection.std(err[k]));
                    rankChart.add(series, methods.get(k).label(), ResultsSection.mean(rankRel[k]), ResultsSection.std(rankRel[k]));
                }
                md.append('\n');
            }
        }
        md.append("![relative error per method](").append(errorChart.write("expressiveness-error",
                "Relative Frobenius error of the fit (lower is better)", "||dW - dW*|| / ||dW*||")).append(")\n\n");
        md.append("![numerical rank per method](").append(rankChart.write("expressiveness-rank",
                "Numerical rank of the fitted update (σ > 1e-3 σmax)", "rank")).append(")\n");
        ResultsSection.write("expressiveness", "Expressiveness at equal parameter budgets",
                "bench/expressiveness.sh " + steps + " " + seeds, md.toString());
        System.out.println(md);
    }

    /** The compared adapters for an out x in layer, r = 4 where a rank applies. */
    static List<Method> methods(long out, long in) {
        List<Method> m = new ArrayList<>();
        m.add(new Method("LoRA r=" + R, base(Mode.LORA).rank(R).alpha(R).build()));
        // the smallest LoRA rank whose budget covers the largest BoRA below (b = 16)
        long boraMax = (out + in) * R + 16L * 16 * R;
        int matched = (int) ((boraMax + out + in - 1) / (out + in));
        m.add(new Method("LoRA r=" + matched + " (budget-matched)", base(Mode.LORA).rank(matched).alpha(matched).build()));
        m.add(new Method("MELoRA b=4, r=" + R, base(Mode.MELORA).rank(R).alpha(R).blocks(4).build()));
        for (int b : new int[] {2, 4, 8, 16}) {
            m.add(new Method("BoRA b=" + b + ", r=" + R, base(Mode.BORA).rank(R).alpha(R).blocks(b).build()));
        }
        m.add(new Method("HiRA r=" + R, base(Mode.HIRA).rank(R).alpha(R).build()));
        int[] kf = kronFactorsNear(out, in, (out + in) * R);
        m.add(new Method("KronA A " + kf[0] + "x" + kf[1], base(Mode.KRONA).rank(1).alpha(1).kronFactors(kf[0], kf[1])
                .build()));
        return m;
    }

    private static BoraConfig.Builder base(Mode mode) {
        return BoraConfig.builder().targetModules("target").mode(mode).sigma(BoraConfig.SigmaParameterization.EXP);
    }

    /**
     * KronA factor sizes whose parameter count a1*a2 + (out/a1)*(in/a2) is closest to the budget;
     * among ties, the largest rank bound min(a1, a2) * min(out/a1, in/a2) (a row-vector A would
     * cap the rank at min(out/a1, in/a2)).
     */
    static int[] kronFactorsNear(long out, long in, long budget) {
        int[] best = {1, 1};
        long bestGap = Long.MAX_VALUE, bestRank = -1;
        for (int a1 = 1; a1 <= out; a1++) {
            for (int a2 = 1; a2 <= in; a2++) {
                if (out % a1 != 0 || in % a2 != 0) continue;
                long p = (long) a1 * a2 + (out / a1) * (in / a2);
                long gap = Math.abs(p - budget);
                long rank = Math.min(a1, a2) * Math.min(out / a1, in / a2);
                if (gap < bestGap || (gap == bestGap && rank > bestRank)) {
                    bestGap = gap;
                    bestRank = rank;
                    best = new int[] {a1, a2};
                }
            }
        }
        return best;
    }

    static Tensor target(String kind, long out, long in) {
        Tensor t;
        if (kind.equals("random")) {
            t = torch.randn(out, in);
        } else {
            T_TensorTensorTensor_T usv = torch.svd(torch.randn(out, in), true, true);
            long k = Math.min(out, in);
            float[] s = new float[(int) k];
            for (int i = 0; i < k; i++) s[i] = (float) Math.exp(-i / 16.0);
            t = usv.get0().mul(Tensor.create(s, 1, k)).matmul(usv.get2().t());
        }
        return t.div(t.norm()).detach().clone();
    }

    /** Relative error of the best rank-r approximation: sqrt(sum_{i >= r} sigma_i^2) / ||dW*||. */
    static double svdError(Tensor target, int r) {
        Tensor s = torch.linalg_svdvals(target.to(torch.ScalarType.Double));
        long k = s.size(0);
        return s.narrow(0, r, k - r).square().sum().sqrt().item_double() / s.square().sum().sqrt().item_double();
    }

    static Fit fit(BoraConfig config, Tensor w0, Tensor target, int steps) {
        long out = w0.size(0), in = w0.size(1);
        Module holder = new Module();
        AdaptableLinear layer = holder.register_module("target", new AdaptableLinear(new LinearImpl(in, out)));
        try (NoGradGuard ng = new NoGradGuard()) {
            layer.base().weight().copy_(w0);
            layer.base().bias().zero_();
        }
        Map<String, ? extends TrainableAdapter> adapters = BoraInjector.inject(holder, config).all();
        TrainableAdapter adapter = adapters.values().iterator().next();
        TensorVector params = new TensorVector(adapter.trainableTensors().values().toArray(new Tensor[0]));
        long count = adapter.trainableTensors().values().stream().mapToLong(Tensor::numel).sum();
        Tensor eye = torch.eye(in);
        Tensor frozen;
        try (NoGradGuard ng = new NoGradGuard()) {
            frozen = layer.base().forward(eye).detach().clone();
        }
        Tensor targetT = target.t().contiguous();
        Adam opt = new Adam(params, new AdamOptions(1e-2));
        for (int step = 0; step < steps; step++) {
            if (step == steps * 2 / 3) {
                opt = new Adam(params, new AdamOptions(1e-3));
            }
            try (PointerScope scope = new PointerScope()) {
                opt.zero_grad();
                Tensor dwT = layer.forward(eye).sub(frozen); // identity input: rows of s * dW^T
                Tensor loss = dwT.sub(targetT).square().sum();
                loss.backward();
                opt.step();
            }
        }
        Tensor dw;
        try (NoGradGuard ng = new NoGradGuard()) {
            dw = layer.forward(eye).sub(frozen).t().contiguous();
        }
        double rel = dw.sub(target).norm().item_double() / target.norm().item_double();
        UpdateRanks.Rank rank = UpdateRanks.of(dw);
        return new Fit(rel, count, rank.absolute(), rank.relative());
    }
}
