/** The repair order's print button: a listener in a file, as the Content-Security-Policy allows no inline handler. */
document.querySelector("[data-print]").addEventListener("click", () => window.print());
