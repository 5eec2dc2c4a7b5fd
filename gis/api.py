"""Spatial data API (the base map reads roads from here until vector tiles arrive)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from . import selectors
from .models import Road


class RoadSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = Road
        geo_field = "geom"
        fields = ["id", "name", "road_class", "speed_kmh", "oneway", "lanes"]


class RoadListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("class", str, enum=Road.RoadClass.values, many=True)],
        responses=RoadSerializer(many=True),
    )
    def get(self, request):
        classes = request.query_params.getlist("class")
        unknown = sorted(set(classes) - set(Road.RoadClass.values))
        if unknown:
            return Response(
                {"error": "invalid_input", "field": "class", "detail": f"unknown road classes {unknown}"}, status=400
            )
        return Response(RoadSerializer(selectors.roads(classes), many=True).data)
