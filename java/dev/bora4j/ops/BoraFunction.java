package dev.bora4j.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Node;
import org.bytedeco.pytorch.PointerConsumer;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorBase;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorTensorHook;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.MemoryFormat;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The autograd bridge: y = y0 + scale * BoRA(x) computed by the native kernels, with gradients
 * for x, y0, A, B and S delivered to torch autograd, so {@code loss.backward()} works through
 * BoRA layers.
 *
 * <p>The Java presets have no custom autograd.Function, so the bridge uses tensor hooks:
 * <ol>
 * <li>y starts as a contiguous clone of y0, made with autograd on, so dL/dy0 = dL/dy reaches y0
 * through torch's own clone node; the kernel then adds the adapter into y with grad mode off;</li>
 * <li>each of x, A, B, S that requires grad gets an alias whose hook hands back the gradient the
 * kernel computed for it (inputs needing no gradient get no alias, so e.g. dx is never computed
 * for a constant x);</li>
 * <li>a 0-dim link that is exactly zero, {@code (nan_to_num(sum of alias sums) + tokA) * tokB},
 * is added into one row of y, so y depends on every alias at O(m) cost;</li>
 * <li>the hook on y receives G = dL/dy, asks each alias's grad node whether this pass needs its
 * gradient, runs the kernel backward once and stashes the results for the alias hooks (the graph
 * guarantees the order: the aliases are reachable only through y);</li>
 * <li>hooks, aliases and saved inputs are kept alive from Java until two 0-dim tokens report
 * that torch let go of them: tokA (a leaf held by its AccumulateGrad node) dies with the graph,
 * tokB (saved by the multiplication) dies when backward frees saved tensors. The tokens live on
 * y's device: a CPU token in a CUDA graph would make autograd copy its gradient to the host, a
 * stream synchronisation per layer.</li>
 * </ol>
 * The hooks close every Java handle they create as soon as torch holds its own reference, so
 * that G, dx and the workspace are freed when torch is done with them, not when the caller's
 * PointerScope closes (on CUDA, torch runs backward on its own threads, outside any scope).
 * Not supported: double backward, and backward of one graph from several threads at once.
 */
public final class BoraFunction {

    private static final int X = 0, A = 1, B = 2, S = 3;
    private static final String[] NAMES = {"x", "A", "B", "S"};

    /** Graphs whose tokens torch still holds; keeps their hooks and tensors strongly reachable. */
    private static final Set<Graph> LIVE = ConcurrentHashMap.newKeySet();

    /** What to do when torch frees a token, by the token's data address. */
    private static final Map<Long, Runnable> ON_FREE = new ConcurrentHashMap<>();

    // One deleter for all tokens: JavaCPP provides only a few live instances of a raw C
    // callback type such as from_blob's deleter, so each token is told apart by its address.
    private static final PointerConsumer DELETER = new PointerConsumer() {
        @Override
        public void call(Pointer data) {
            Runnable onFree = ON_FREE.remove(data.address());
            if (onFree != null) {
                onFree.run();
            }
        }
    };

    /** The y hook's answer, "leave dL/dy as it is"; one handle that torch copies each time. */
    private static final Tensor UNCHANGED = new Tensor();

    /**
     * Gradients a hook handed to torch on this thread. torch copies a hook's result before the
     * hook returns, so the next hook on the thread (or the end of the graph) closes them.
     */
    private static final ThreadLocal<List<Tensor>> RETURNED = ThreadLocal.withInitial(ArrayList::new);

    static {
        DELETER.retainReference();
        UNCHANGED.retainReference();
    }

    private BoraFunction() {
    }

    /**
     * Returns a new tensor y = y0 + scale * BoRA(x) computed by the native kernels; x [..., n],
     * y0 [..., m] (y0 is usually the frozen projection x W0^T + bias). All tensors must share a
     * dtype and device; x, A, B, S must be contiguous.
     */
    public static Tensor apply(Tensor x, Tensor y0, Tensor a, Tensor b, Tensor s, double scale) {
        BoraShape sh = BoraShape.of(x, y0, a, b, s);
        if (!x.is_contiguous()) {
            throw new IllegalArgumentException("x " + BoraShape.sizes(x) + " is not contiguous: pass x.contiguous()");
        }
        Tensor[] inputs = {x, a, b, s};
        boolean track = false;
        if (GradMode.is_enabled()) {
            for (Tensor t : inputs) {
                track |= t.requires_grad();
            }
        }
        // Cloned with autograd on: the clone's backward hands dL/dy to y0 unchanged, with no hook,
        // no extra pass and no node of ours. The kernel's in-place write below is invisible to it
        // (a clone saves nothing).
        Tensor y = y0.reshape(sh.tokens(), sh.out()).clone(new MemoryFormatOptional(MemoryFormat.Contiguous));
        Graph g = null;
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor x2 = x.detach().reshape(sh.tokens(), sh.in());
            // U is saved as float32 by the C API; float64 (the precision for gradient checks)
            // recomputes it in backward instead, so that it loses nothing.
            boolean saveU = track && BoraOps.dtypeOf(x2) != ScalarType.Double;
            Tensor u = saveU ? BoraOps.newSaved(x2, sh) : null;
            BoraOps.forward(x2, a, b, s, y, u, scale);
            if (track) {
                g = new Graph(sh, scale, x, x2, a.detach(), b.detach(), s.detach(), u);
            }
        }
        if (g != null) {
            g.attach(inputs, y);
        }
        return y0.dim() == 2 ? y : y.view(y0.sizes());
    }

    /** Number of kernel backward calls that computed an input gradient dx (for tests). */
    static final java.util.concurrent.atomic.AtomicLong INPUT_GRADIENTS = new java.util.concurrent.atomic.AtomicLong();

    /** How many graphs through this bridge torch still holds (for leak tests). */
    public static int liveGraphs() {
        return LIVE.size();
    }

    /** One forward call's state, alive until torch frees the graph. */
    private static final class Graph {
        final BoraShape sh;
        final double scale;
        final long[] xShape;
        final Tensor x2, a, b, s, u;
        final long vx, va, vb, vs;
        final Tensor[] aliases = new Tensor[4];
        final Tensor[] stash = new Tensor[4];
        final List<Pointer> held = new ArrayList<>();
        volatile boolean savedFreed;

        Graph(BoraShape sh, double scale, Tensor x, Tensor x2, Tensor a, Tensor b, Tensor s, Tensor u) {
            this.sh = sh;
            this.scale = scale;
            this.xShape = BoraShape.shape(x);
            this.x2 = x2;
            this.a = a;
            this.b = b;
            this.s = s;
            this.u = u;
            this.vx = x2._version();
            this.va = a._version();
            this.vb = b._version();
            this.vs = s._version();
            for (Tensor t : new Tensor[] {x2, a, b, s, u}) {
                if (t != null) {
                    t.retainReference();
                }
            }
        }

        /** Builds the aliases, the zero link into y, and the hooks. */
        void attach(Tensor[] inputs, Tensor y) {
            Tensor tokA = token(this::onGraphFreed, y);
            tokA.set_requires_grad(true);
            Tensor tokB = token(this::onSavedFreed, y);
            LIVE.add(this);

            List<Tensor> temps = new ArrayList<>();
            Tensor total = null;
            for (int i = 0; i < inputs.length; i++) {
                if (!inputs[i].requires_grad()) {
                    continue;
                }
                Tensor alias = inputs[i].alias();
                aliases[i] = hold(alias);
                final int k = i;
                alias.register_hook(hold(new TensorTensorHook() {
                    @Override
                    public TensorBase call(TensorBase ignored) {
                        closeReturned();
                        ignored.close();
                        return handOver(takeStash(k));
                    }
                }));
                Tensor sum = temp(temps, alias.sum());
                total = total == null ? sum : temp(temps, total.add(sum));
            }
            // (finite + tokA) * tokB is exactly 0; nan_to_num keeps one Inf in x from making it NaN.
            Tensor link = temp(temps, temp(temps, temp(temps, total.nan_to_num()).add(tokA)).mul(tokB));
            Tensor row0 = temp(temps, y.new_zeros(new long[] {1},
                    new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Long))));
            y.index_add_(0, row0, temp(temps, link.expand(1, sh.out())));
            y.register_hook(hold(new TensorTensorHook() {
                @Override
                public TensorBase call(TensorBase grad) {
                    closeReturned();
                    try {
                        backward(grad);
                    } finally {
                        grad.close();
                    }
                    return UNCHANGED;
                }
            }));
            // Only torch may hold the tokens and intermediate handles now, so that it alone decides
            // when they die.
            tokA.close();
            tokB.close();
            for (Tensor t : temps) {
                t.close();
            }
        }

        /** The hook on y: one kernel backward for every gradient this pass needs. */
        private void backward(TensorBase grad) {
            if (savedFreed) {
                throw new IllegalStateException("backward through a BoRA layer a second time: the first backward"
                        + " freed its saved tensors; pass retain_graph = true to the first backward");
            }
            checkVersion(x2, vx, "x");
            checkVersion(a, va, "A");
            checkVersion(b, vb, "B");
            checkVersion(s, vs, "S");
            boolean[] need = new boolean[4];
            boolean kernel = false;
            for (int i = 0; i < 4; i++) {
                if (aliases[i] != null) {
                    Node node = aliases[i].grad_fn();
                    need[i] = node.task_should_compute_output(0);
                    node.close();
                    kernel |= need[i];
                }
            }
            if (!kernel) {
                return;
            }
            Tensor handle = new Tensor(grad);
            Tensor g = handle.contiguous();
            try (NoGradGuard ng = new NoGradGuard()) {
                Tensor dx = need[X] ? x2.new_zeros(sh.tokens(), sh.in()) : null;
                Tensor dA = need[A] ? a.new_empty(a.sizes()) : null;
                Tensor dB = need[B] ? b.new_empty(b.sizes()) : null;
                Tensor dS = need[S] ? s.new_empty(s.sizes()) : null;
                BoraOps.backward(g, x2, a, b, s, u, scale, dA, dB, dS, dx);
                if (dx != null) {
                    INPUT_GRADIENTS.incrementAndGet();
                    stash[X] = dx.view(xShape);
                    dx.close();
                }
                stash[A] = dA;
                stash[B] = dB;
                stash[S] = dS;
            } finally {
                g.close();
                handle.close();
            }
        }

        private Tensor takeStash(int i) {
            Tensor grad = stash[i];
            stash[i] = null;
            if (grad == null) {
                throw new IllegalStateException("the BoRA backward did not compute the gradient of " + NAMES[i]
                        + " that autograd asks for");
            }
            return grad;
        }

        private void checkVersion(Tensor t, long version, String name) {
            if (t._version() != version) {
                throw new IllegalStateException(name + " of a BoRA layer was modified in place between forward and"
                        + " backward; clone it before changing it, or run forward again");
            }
        }

        private <P extends Pointer> P hold(P p) {
            p.retainReference();
            held.add(p);
            return p;
        }

        /** tokB died: backward without retain_graph released saved tensors, so do we. */
        private void onSavedFreed() {
            if (!savedFreed) {
                savedFreed = true;
                for (Tensor t : new Tensor[] {x2, a, b, s, u}) {
                    if (t != null) {
                        t.releaseReference();
                    }
                }
            }
        }

        /** tokA died: the graph is gone, nothing can call our hooks any more. */
        private void onGraphFreed() {
            onSavedFreed();
            for (Pointer p : held) {
                p.releaseReference();
            }
            held.clear();
            for (int i = 0; i < stash.length; i++) {
                if (stash[i] != null) {
                    stash[i].close();
                    stash[i] = null;
                }
            }
            closeReturned();
            LIVE.remove(this);
        }
    }

    private static Tensor handOver(Tensor grad) {
        RETURNED.get().add(grad);
        return grad;
    }

    private static void closeReturned() {
        List<Tensor> returned = RETURNED.get();
        for (Tensor t : returned) {
            t.close();
        }
        returned.clear();
    }

    private static Tensor temp(List<Tensor> temps, Tensor t) {
        temps.add(t);
        return t;
    }

    /**
     * A 0-dim zero tensor on y's device whose release runs {@code onFree}. It views one element
     * of a tensor that Java keeps until then, so its address identifies it.
     */
    private static Tensor token(Runnable onFree, Tensor y) {
        Tensor mem = y.new_zeros(new long[] {1});
        mem.retainReference();
        ON_FREE.put(mem.data_ptr().address(), () -> {
            mem.releaseReference();
            onFree.run();
        });
        return torch.from_blob(mem.data_ptr(), new long[0], DELETER, y.options());
    }
}
