// Draw every chart of the page: each <div class="plot" data-figure="ID"> gets the plotly
// figure held as JSON in <script type="application/json" id="ID">.
document.querySelectorAll("div.plot[data-figure]").forEach(function (div) {
  var source = document.getElementById(div.dataset.figure);
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(div, figure.data, figure.layout, { responsive: true, displaylogo: false });
});
