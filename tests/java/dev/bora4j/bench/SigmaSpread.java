package dev.bora4j.bench;

import dev.bora4j.adapters.AdapterConfigFile;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraConfig.Mode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * How far the trained Sigma of BoRA adapter folders is from 1 (where BoRA is LoRA): the RMS and
 * the largest magnitude of log Sigma over every Sigma entry of every module, Sigma computed from
 * the saved P under the folder's parameterisation. Usage: {@code SigmaSpread ADAPTER_DIR...}.
 */
public final class SigmaSpread {

    private SigmaSpread() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: SigmaSpread ADAPTER_DIR...  (folders written by bora4j finetune)");
            System.exit(2);
        }
        System.out.println("| adapter | sigma | Sigma entries | RMS of log Sigma | max abs log Sigma |");
        System.out.println("|---|---|---:|---:|---:|");
        for (String arg : args) {
            Path dir = Path.of(arg);
            AdapterConfigFile config = AdapterConfigFile.read(dir.resolve(AdapterConfigFile.FILE_NAME));
            if (config.mode() != Mode.BORA) {
                throw new IllegalArgumentException(dir + " holds a " + config.mode() + " adapter, whose Sigma is fixed");
            }
            double sumSquares = 0;
            double max = 0;
            long count = 0;
            Map<String, Tensor> tensors = SafetensorsTorch.readAll(dir.resolve("adapter_model.safetensors"));
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                if (e.getKey().endsWith("bora_sigma")) {
                    Tensor logSigma = BoraAdapter.sigmaOf(e.getValue().toType(ScalarType.Double), config.sigma()).log();
                    sumSquares += logSigma.square().sum().item_double();
                    max = Math.max(max, logSigma.abs().max().item_double());
                    count += logSigma.numel();
                }
            }
            if (count == 0) {
                throw new IllegalArgumentException(dir + " has no bora_sigma tensor");
            }
            System.out.printf("| %s | %s | %,d | %.4f | %.4f |%n", dir, config.sigma().name().toLowerCase(), count,
                    Math.sqrt(sumSquares / count), max);
        }
    }
}
