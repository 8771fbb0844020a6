package dev.bora4j.internal;

/** A call into the native BoRA library returned an error status; nothing was written. */
public class BoraNativeException extends RuntimeException {

    private final int status;

    public BoraNativeException(int status, String call, String statusMessage, String detail) {
        super(call + " failed with status " + status + " (" + statusMessage + ")"
                + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.status = status;
    }

    /** The bora_status code. */
    public int status() {
        return status;
    }
}
