package dev.bora4j.models.minilm;

import static dev.bora4j.TorchTesting.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

class TokenPackingTest {

    @Test
    void packsRealTokensInOrderAndUnpacksWithZeroPadding() {
        Tensor mask = Tensor.create(new long[] {1, 1, 1, 0, 1, 1, 0, 0}, 2, 4);
        Tensor states = torch.arange(new Scalar(0), new Scalar(24)).to(ScalarType.Float).reshape(2, 4, 3);
        TokenPacking p = TokenPacking.of(mask);
        assertEquals(5, p.tokens());
        Tensor packed = p.pack(states);
        // rows 0, 1, 2 of sentence 0 and rows 0, 1 of sentence 1: flat rows 0, 1, 2, 4, 5
        float[] expectedFirst = {0, 3, 6, 12, 15};
        for (int i = 0; i < 5; i++) {
            assertEquals(expectedFirst[i], packed.select(0, i).select(0, 0).item_float(), "row " + i);
        }
        Tensor maskF = mask.to(ScalarType.Float).unsqueeze(-1);
        assertTrue(p.unpack(packed).equal(states.mul(maskF)), "unpack(pack(x)) must be x with zeros at the padding");
        assertClose(p.sentenceMeans(packed), MiniLmModel.meanPool(states, mask), 1e-7, "sentence means");
    }

    @Test
    void aBatchWithoutPaddingPacksWithoutCopying() {
        Tensor states = torch.randn(2, 3, 4);
        TokenPacking p = TokenPacking.of(torch.ones(2, 3).to(ScalarType.Long));
        assertEquals(6, p.tokens());
        Tensor packed = p.pack(states);
        assertEquals(states.data_ptr().address(), packed.data_ptr().address(), "a view, not a copy");
        assertTrue(p.unpack(packed).equal(states));
    }
}
