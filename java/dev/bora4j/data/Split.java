package dev.bora4j.data;

/** The three parts of a dataset. */
public enum Split {
    TRAIN, DEV, TEST
}
