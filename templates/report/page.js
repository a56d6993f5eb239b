
(function () {
  "use strict";
  // Sort ranks of the coded columns: what needs attention first.
  var RANGS = {
    statut: {failed: 0, not_run: 1, changed: 2, skipped: 3, ok: 4},
    severite: {erreur: 0, avertissement: 1, info: 2}
  };
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  function simple(texte) {
    return texte.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  function valeur(ligne, index) {
    var cellule = ligne.cells[index];
    if (!cellule) { return ""; }
    var v = cellule.getAttribute("data-value");
    return v === null ? cellule.textContent.trim() : v;
  }
  function comparer(type, x, y) {
    if (type === "num") { return Number(x) - Number(y); }
    if (RANGS[type]) {
      var rx = x in RANGS[type] ? RANGS[type][x] : 99, ry = y in RANGS[type] ? RANGS[type][y] : 99;
      return rx - ry;
    }
    return x.localeCompare(y, "fr", {sensitivity: "base", numeric: true});
  }
  function triable(table) {
    var titres = table.tHead.rows[table.tHead.rows.length - 1].cells;
    each(titres, function (th, index) {
      var bouton = th.querySelector("button.tri");
      if (!bouton) { return; }
      bouton.addEventListener("click", function () {
        var sens = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        var type = th.getAttribute("data-tri") || "texte";
        each(titres, function (autre) { autre.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", sens === 1 ? "ascending" : "descending");
        var corps = table.tBodies[0];
        var lignes = Array.prototype.map.call(corps.rows, function (ligne, ordre) {
          return {ligne: ligne, ordre: ordre, valeur: valeur(ligne, index)};
        });
        lignes.sort(function (a, b) {
          // Empty cells last, whatever the direction; equal values keep their order.
          if ((a.valeur === "") !== (b.valeur === "")) { return a.valeur === "" ? 1 : -1; }
          return sens * comparer(type, a.valeur, b.valeur) || a.ordre - b.ordre;
        });
        lignes.forEach(function (l) { corps.appendChild(l.ligne); });
      });
    });
  }
  function filtrable(barre) {
    var id = barre.getAttribute("data-filtres");
    var table = document.getElementById(id);
    var aucun = document.getElementById(id + "-aucun");
    var champs = barre.querySelectorAll("[data-champ]");
    var compteur = barre.querySelector("[data-affiches]");
    function appliquer() {
      var affiches = 0;
      each(table.tBodies[0].rows, function (ligne) {
        var visible = Array.prototype.every.call(champs, function (champ) {
          var v = champ.value.trim(), nom = champ.getAttribute("data-champ");
          if (!v) { return true; }
          if (nom === "texte") { return simple(ligne.textContent).indexOf(simple(v)) !== -1; }
          return ligne.getAttribute("data-" + nom) === v;
        });
        ligne.hidden = !visible;
        if (visible) { affiches += 1; }
      });
      compteur.textContent = affiches.toLocaleString("fr-FR");
      if (aucun) { aucun.hidden = affiches !== 0; }
    }
    each(champs, function (champ) {
      champ.addEventListener("input", appliquer);
      champ.addEventListener("change", appliquer);
    });
    var raz = barre.querySelector("[data-reinitialiser]");
    if (raz) {
      raz.addEventListener("click", function () {
        each(champs, function (champ) { champ.value = ""; });
        appliquer();
      });
    }
    barre.hidden = false;
    appliquer();
  }
  each(document.querySelectorAll("table.triable"), triable);
  each(document.querySelectorAll("[data-filtres]"), filtrable);
  document.documentElement.setAttribute("data-js", "pret");
})();
