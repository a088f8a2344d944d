from glob import glob

from setuptools import find_packages, setup

package_name = "argos_bringup"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={package_name: ["web/*.html"]},  # the `argos lines` page
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml") + glob("config/*.xml")),
        ("share/" + package_name + "/config/systemd", glob("config/systemd/*.service")),
        ("share/" + package_name + "/config/class_maps", glob("config/class_maps/*.yaml")),
        ("share/" + package_name + "/config/grafana", glob("config/grafana/*")),
        ("share/" + package_name + "/config/foxglove", glob("config/foxglove/*")),
        ("share/" + package_name + "/models", glob("models/*.onnx") + glob("models/*.json")),
        # node executables where launch_ros and `ros2 run` look for them (the argos command goes to bin/)
        ("lib/" + package_name, ["scripts/edge_container"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="ARGOS edge maintainers",
    maintainer_email="maintainers@argos-edge.org",
    description="ARGOS bringup: launch files, configuration and the argos command line.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "argos = argos_bringup.cli:main",
        ],
    },
)
