package org.rlhf4j.transformer.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.transformer.gpt.Gpt;

class HfConfigTest {
    @TempDir
    Path dir;

    /** The config.json of the "gpt2" repository on the Hugging Face hub (task-specific params dropped). */
    private static final String GPT2_HUB = "{\n"
            + "  \"activation_function\": \"gelu_new\",\n"
            + "  \"architectures\": [\"GPT2LMHeadModel\"],\n"
            + "  \"attn_pdrop\": 0.1,\n"
            + "  \"bos_token_id\": 50256,\n"
            + "  \"embd_pdrop\": 0.1,\n"
            + "  \"eos_token_id\": 50256,\n"
            + "  \"initializer_range\": 0.02,\n"
            + "  \"layer_norm_epsilon\": 1e-05,\n"
            + "  \"model_type\": \"gpt2\",\n"
            + "  \"n_ctx\": 1024,\n"
            + "  \"n_embd\": 768,\n"
            + "  \"n_head\": 12,\n"
            + "  \"n_layer\": 12,\n"
            + "  \"n_positions\": 1024,\n"
            + "  \"resid_pdrop\": 0.1,\n"
            + "  \"summary_activation\": null,\n"
            + "  \"summary_first_dropout\": 0.1,\n"
            + "  \"summary_proj_to_labels\": true,\n"
            + "  \"summary_type\": \"cls_index\",\n"
            + "  \"summary_use_proj\": true,\n"
            + "  \"vocab_size\": 50257\n"
            + "}\n";

    private Path write(String json) throws IOException {
        Path file = dir.resolve("config.json");
        Files.writeString(file, json);
        return file;
    }

    private ModelFileException assertRejected(String json, String... mentions) throws IOException {
        Path file = write(json);
        ModelFileException e = assertThrows(ModelFileException.class, () -> HfConfig.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String m : mentions) assertTrue(e.getMessage().contains(m), "'" + m + "' missing from: " + e.getMessage());
        return e;
    }

    private static String tiny(String extra) {
        return "{\"vocab_size\": 32, \"n_positions\": 16, \"n_embd\": 8, \"n_layer\": 2, \"n_head\": 2" + extra + "}";
    }

    @Test
    void readsTheHubGpt2ConfigAsGpt2Small() throws IOException {
        HfConfig config = HfConfig.read(write(GPT2_HUB));
        assertEquals(Gpt.Config.gpt2Small(), config.toGptConfig());
        assertEquals(50256, config.bosTokenId());
        assertEquals(50256, config.eosTokenId());
        assertEquals("gelu_new", config.activationFunction());
    }

    @Test
    void defaultsFollowGpt2Config() throws IOException {
        HfConfig config = HfConfig.read(write(tiny("")));
        assertEquals(new Gpt.Config(32, 16, 2, 2, 8, 1e-5, 0.1), config.toGptConfig());
        assertNull(config.bosTokenId());
        assertNull(config.eosTokenId());
    }

    @Test
    void dropoutIsResidPdrop() throws IOException {
        HfConfig config = HfConfig.read(write(tiny(", \"resid_pdrop\": 0.25, \"embd_pdrop\": 0.0, \"attn_pdrop\": 0.5")));
        assertEquals(0.25, config.toGptConfig().dropout());
        assertEquals(0.0, config.embdPdrop());
        assertEquals(0.5, config.attnPdrop());
    }

    @Test
    void nCtxIsAcceptedAsTheOldNameOfNPositions() throws IOException {
        String json = "{\"vocab_size\": 32, \"n_ctx\": 12, \"n_embd\": 8, \"n_layer\": 1, \"n_head\": 2}";
        assertEquals(12, HfConfig.read(write(json)).toGptConfig().contextLength());
    }

    @Test
    void missingRequiredKeysAreNamed() throws IOException {
        assertRejected("{\"n_positions\": 16, \"n_embd\": 8, \"n_layer\": 2, \"n_head\": 2}", "missing required key", "vocab_size");
        assertRejected("{\"vocab_size\": 32, \"n_embd\": 8, \"n_layer\": 2, \"n_head\": 2}", "n_positions", "n_ctx");
        assertRejected("{\"vocab_size\": 32, \"n_positions\": 16, \"n_layer\": 2, \"n_head\": 2}", "n_embd");
        assertRejected("{\"vocab_size\": 32, \"n_positions\": 16, \"n_embd\": 8, \"n_head\": 2}", "n_layer");
        assertRejected("{\"vocab_size\": 32, \"n_positions\": 16, \"n_embd\": 8, \"n_layer\": 2}", "n_head");
    }

    @Test
    void nInnerMustBeNullOrFourTimesTheWidth() throws IOException {
        assertEquals(8, HfConfig.read(write(tiny(", \"n_inner\": null"))).nEmbd());
        assertEquals(8, HfConfig.read(write(tiny(", \"n_inner\": 32"))).nEmbd());
        assertRejected(tiny(", \"n_inner\": 24"), "unsupported config", "n_inner", "24");
    }

    @Test
    void onlyTheTanhGeluIsAccepted() throws IOException {
        assertEquals("gelu_pytorch_tanh",
                HfConfig.read(write(tiny(", \"activation_function\": \"gelu_pytorch_tanh\""))).activationFunction());
        assertRejected(tiny(", \"activation_function\": \"relu\""), "activation_function", "relu");
        assertRejected(tiny(", \"activation_function\": \"gelu\""), "activation_function", "\"gelu\"");
    }

    @Test
    void architectureChangesThatAreNotImplementedAreRefused() throws IOException {
        assertRejected(tiny(", \"model_type\": \"llama\""), "model_type", "llama");
        assertRejected(tiny(", \"scale_attn_by_inverse_layer_idx\": true"), "scale_attn_by_inverse_layer_idx");
        assertRejected(tiny(", \"scale_attn_weights\": false"), "scale_attn_weights");
        assertRejected(tiny(", \"add_cross_attention\": true"), "add_cross_attention");
    }

    @Test
    void badValuesAreRejected() throws IOException {
        assertRejected(tiny(", \"layer_norm_epsilon\": \"small\""), "layer_norm_epsilon");
        assertRejected(tiny(", \"resid_pdrop\": 1.5"), "resid_pdrop");
        assertRejected(tiny(", \"eos_token_id\": 32"), "eos_token_id", "[0, 32)");
        assertRejected("{\"vocab_size\": 32.5, \"n_positions\": 16, \"n_embd\": 8, \"n_layer\": 2, \"n_head\": 2}", "vocab_size");
        assertRejected("{\"vocab_size\": 32, \"n_positions\": 16, \"n_embd\": 9, \"n_layer\": 2, \"n_head\": 2}",
                "n_embd 9", "n_head 2");
    }

    @Test
    void malformedJsonGivesTheLine() throws IOException {
        assertRejected("{\n  \"vocab_size\": 32,\n  \"n_embd\" 8\n}", "malformed JSON", "line 3");
        assertRejected("[]", "not a JSON object");
    }

    @Test
    void writeThenReadGivesTheSameConfig() throws IOException {
        HfConfig config = HfConfig.of(new Gpt.Config(32, 16, 2, 2, 8, 1e-5, 0.0));
        Path file = dir.resolve("config.json");
        config.write(file);
        assertEquals(config, HfConfig.read(file));
        assertEquals(31, config.eosTokenId());
        byte[] first = Files.readAllBytes(file);
        HfConfig.read(file).write(file);
        assertArrayEquals(first, Files.readAllBytes(file));
        String text = new String(first, StandardCharsets.UTF_8);
        assertTrue(text.contains("\n  \"model_type\": \"gpt2\",\n"), text);
        assertTrue(text.contains("\"GPT2LMHeadModel\""), text);
        assertTrue(text.indexOf("\"n_embd\"") < text.indexOf("\"vocab_size\""), "sorted keys");
    }
}
