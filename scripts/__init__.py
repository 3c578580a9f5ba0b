"""The pack's tooling, imported as the package `scripts` from the pack root (`python -m scripts.<name>`): the host
harness that tests, benchmarks and `make demo` share (comfy_host: a real ComfyUI server; workflow_to_api: UI
workflow -> API prompt; browser_page: the front end in headless Chromium; demo_measures; hallo_parity: the recorded
Hallo run), the demo and test model writers, and the install-time converters."""
