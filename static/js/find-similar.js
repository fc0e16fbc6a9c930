// Find similar: drag-and-drop and paste on the upload page, and drawing a crop box on the
// result page. The pages work without this file (file picker; garment links; whole photo).
(function () {
  "use strict";

  function setupUpload(form) {
    var input = form.querySelector('input[type="file"]');
    var drop = form.querySelector("[data-fs-drop]");
    var preview = form.querySelector("[data-fs-preview]");
    var fileName = form.querySelector("[data-fs-file-name]");
    var hint = form.querySelector("[data-fs-js-hint]");
    if (!input || !drop) return;
    if (hint) hint.hidden = false;
    form.classList.add("fs-js");

    function show(file) {
      if (!file) return;
      if (fileName) fileName.textContent = file.name || "";
      if (preview && file.type && file.type.indexOf("image/") === 0) {
        if (preview.src) URL.revokeObjectURL(preview.src);
        preview.src = URL.createObjectURL(file);
        preview.hidden = false;
      }
    }

    function useFiles(files) {
      if (!files || !files.length) return false;
      var transfer = new DataTransfer();
      transfer.items.add(files[0]);
      input.files = transfer.files;
      show(files[0]);
      return true;
    }

    input.addEventListener("change", function () { show(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (event) {
        event.preventDefault();
        drop.classList.add("is-dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function (event) {
        event.preventDefault();
        drop.classList.remove("is-dragging");
      });
    });
    drop.addEventListener("drop", function (event) { useFiles(event.dataTransfer.files); });
    document.addEventListener("paste", function (event) {
      var items = (event.clipboardData && event.clipboardData.files) || [];
      var images = Array.prototype.filter.call(items, function (f) { return f.type.indexOf("image/") === 0; });
      if (useFiles(images)) event.preventDefault();
    });
  }

  function setupCrop(root) {
    var stage = root.querySelector("[data-fs-stage]");
    var button = root.querySelector("[data-fs-draw]");
    var help = root.querySelector("[data-fs-draw-help]");
    var rect = root.querySelector("[data-fs-drawing]");
    var form = root.querySelector("[data-fs-filters]");
    if (!stage || !button || !rect || !form) return;
    var width = Number(stage.dataset.width), height = Number(stage.dataset.height);
    var drawing = false, start = null;
    button.hidden = false;

    function setMode(on) {
      drawing = on;
      stage.classList.toggle("is-drawing", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
      if (help) help.hidden = !on;
    }
    // Without garments the box is the only way to choose: start in drawing mode.
    setMode(!root.querySelector(".fs-garment"));
    button.addEventListener("click", function () { setMode(!drawing); });

    function point(event) {
      var box = stage.getBoundingClientRect();
      var x = (event.clientX - box.left) / box.width * width;
      var y = (event.clientY - box.top) / box.height * height;
      return { x: Math.max(0, Math.min(width, x)), y: Math.max(0, Math.min(height, y)) };
    }
    function draw(a, b) {
      rect.setAttribute("x", Math.min(a.x, b.x));
      rect.setAttribute("y", Math.min(a.y, b.y));
      rect.setAttribute("width", Math.abs(a.x - b.x));
      rect.setAttribute("height", Math.abs(a.y - b.y));
    }
    stage.addEventListener("pointerdown", function (event) {
      if (!drawing) return;
      event.preventDefault();
      start = point(event);
      stage.setPointerCapture(event.pointerId);
      rect.removeAttribute("hidden");  // an SVG element: no .hidden property
      draw(start, start);
    });
    stage.addEventListener("pointermove", function (event) {
      if (start) draw(start, point(event));
    });
    stage.addEventListener("pointerup", function (event) {
      if (!start) return;
      var end = point(event), a = start;
      start = null;
      // A box under 2% of the photo's side is a slip of the finger, not a choice.
      var min = 0.02 * Math.max(width, height);
      if (Math.abs(a.x - end.x) < min || Math.abs(a.y - end.y) < min) { rect.setAttribute("hidden", ""); return; }
      var box = [Math.min(a.x, end.x), Math.min(a.y, end.y), Math.max(a.x, end.x), Math.max(a.y, end.y)]
        .map(Math.round).join(",");
      form.querySelector("[data-fs-box]").value = box;
      ["garment", "whole"].forEach(function (name) {
        var field = form.querySelector('input[name="' + name + '"]');
        if (field) field.remove();
      });
      // The boxed area may be another kind of garment: search every category.
      form.querySelectorAll('input[name="category"]').forEach(function (c) { c.checked = false; });
      stage.classList.add("is-busy");
      form.submit();
    });
  }

  document.querySelectorAll("[data-fs-upload]").forEach(setupUpload);
  document.querySelectorAll("[data-fs-result]").forEach(setupCrop);
})();
