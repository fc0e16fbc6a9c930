// Complete the look. Everything works without this file (plain forms); with it, the total
// follows the radio buttons as the shopper swaps, and boxes can be dragged on the photo.
(function () {
  "use strict";

  // Decimal strings in the currency's minor units, so that adding never rounds.
  function minor(text) {
    const [whole, fraction = ""] = String(text).split(".");
    return BigInt(whole || "0") * 100n + BigInt((fraction + "00").slice(0, 2));
  }

  function money(cents, currency) {
    const lang = document.documentElement.lang || "en";
    const format = new Intl.NumberFormat(lang === "ko" ? "ko-KR" : "en-US", { style: "currency", currency });
    return format.format(Number(cents) / 100);
  }

  const summary = document.querySelector("[data-lk-summary]");
  const slots = document.querySelector("form.lk-slots");
  if (summary && slots) {
    const currency = summary.dataset.currency;
    const budget = minor(summary.dataset.budget);
    const update = () => {
      let total = 0n;
      slots.querySelectorAll('input[type="radio"]:checked').forEach((input) => {
        total += minor(input.dataset.price || "0");
      });
      summary.querySelector("[data-lk-total]").textContent = money(total, currency);
      const over = total > budget;
      document.querySelector("[data-lk-under]").hidden = over;
      document.querySelector("[data-lk-over]").hidden = !over;
      document.querySelector("[data-lk-left]").textContent = money(over ? 0n : budget - total, currency);
      document.querySelector("[data-lk-over-amount]").textContent = money(over ? total - budget : 0n, currency);
      slots.querySelectorAll(".lk-option").forEach((label) => {
        label.classList.toggle("is-chosen", label.querySelector("input").checked);
      });
    };
    slots.addEventListener("change", update);
  }

  // Drag on the photo of the form to add a box (one "x0,y0,x1,y1" line in photo pixels).
  const stage = document.querySelector("[data-lk-stage]");
  const boxes = document.querySelector('textarea[name="boxes"]');
  if (stage && boxes) {
    const overlay = stage.querySelector("[data-lk-overlay]");
    const width = Number(stage.dataset.width);
    const height = Number(stage.dataset.height);
    document.querySelector("[data-lk-draw-help]").hidden = false;
    stage.style.cursor = "crosshair";
    stage.style.touchAction = "none";
    let start = null;
    let rect = null;
    const point = (event) => {
      const r = stage.getBoundingClientRect();
      return [
        Math.max(0, Math.min(width, ((event.clientX - r.left) / r.width) * width)),
        Math.max(0, Math.min(height, ((event.clientY - r.top) / r.height) * height)),
      ];
    };
    stage.addEventListener("pointerdown", (event) => {
      start = point(event);
      rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      rect.setAttribute("class", "lk-box");
      rect.setAttribute("vector-effect", "non-scaling-stroke");
      overlay.appendChild(rect);
      stage.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    stage.addEventListener("pointermove", (event) => {
      if (!start) return;
      const [x, y] = point(event);
      rect.setAttribute("x", Math.min(x, start[0]));
      rect.setAttribute("y", Math.min(y, start[1]));
      rect.setAttribute("width", Math.abs(x - start[0]));
      rect.setAttribute("height", Math.abs(y - start[1]));
    });
    stage.addEventListener("pointerup", (event) => {
      if (!start) return;
      const [x, y] = point(event);
      const box = [Math.min(x, start[0]), Math.min(y, start[1]), Math.max(x, start[0]), Math.max(y, start[1])];
      start = null;
      if (box[2] - box[0] < 8 || box[3] - box[1] < 8) {
        rect.remove();
        return;
      }
      const line = box.map((v) => Math.round(v)).join(",");
      boxes.value = (boxes.value.trim() ? boxes.value.trim() + "\n" : "") + line;
    });
  }
})();
