// Progressive enhancement for the browse page: the filters are unfolded on wide screens,
// and changing the sort order applies it at once (without JavaScript: "Apply filters").
document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("details.filters-panel");
  if (panel && window.matchMedia("(min-width: 900px)").matches) panel.open = true;
  const form = document.getElementById("filter-form");
  const sort = form && form.querySelector("select[name=sort]");
  if (sort) sort.addEventListener("change", () => form.submit());
});
